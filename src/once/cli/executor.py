"""What `agent run`, `agent plan` and `agent approve` do once their options are parsed."""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from once.cli.common import in_repo_hint, open_repo, print_json, repo_dir, terminal_safe
from once.cli.run_values import Mode, OutputFormat, RunOptions, check_flags
from once.agent.approvals import HEADLESS_DEFAULT
from once.errors import OnceError, UsageError

if TYPE_CHECKING:
    from once.agent.small import SmallAsk
    from once.config import Settings


def run_task(prompt: str | None, mode: Mode, plan: Path | None, options: RunOptions) -> int:
    """`agent run`, its options parsed (by typer, or by run_args.py for the common forms): the exit code."""
    if plan is not None:
        from once.cli.plan_cmd import approved_plan_prompt, read_plan

        if mode is Mode.plan:
            raise UsageError("--plan carries out a plan, which plan mode cannot do", hint="Drop --mode plan.")
        text = read_plan(plan)
        return execute(prompt or approved_plan_prompt(plan), options, mode="agent", plan_text=text)
    if prompt is None:
        raise UsageError("a prompt is needed", hint='agent run "what to do", or agent run --plan FILE.')
    return execute(prompt, options, mode=mode.value)


def execute(prompt: str, options: RunOptions, *, mode: str = "agent", plan_text: str | None = None) -> int:
    """Run one prompt; its exit code (see errors.exit_code_for). JSON modes print errors as JSON too."""
    try:
        with stop_on_terminate():
            return _execute(prompt, options, mode=mode, plan_text=plan_text)
    except OnceError as exc:
        if options.output_format is not OutputFormat.text:
            _print_error_object(exc, options.output_format)
        raise


def _execute(prompt: str, options: RunOptions, *, mode: str, plan_text: str | None) -> int:
    from once.config import load_settings
    from once.safety.sandbox import start_probe
    from once.vcs import GitRepo

    prompt = read_prompt(prompt)
    check_flags(options)
    where = repo_dir(options.repo)
    # Outside a repository a run may create one (--init); a plan has nothing to explore.
    hint = in_repo_hint("`agent plan` explores a git repository") if mode == "plan" else None
    git = GitRepo.init(where) if options.init and not _inside_repo(where) else open_repo(where, hint)
    settings = load_settings(git.root, flags=options.flags())
    check_model(settings)
    start_probe(settings.sandbox)  # answered while the agent's modules load
    from once.agent.runner import RunRequest, run_once
    from once.cli.render import JsonLinesRenderer, ProgressRenderer
    from once.errors import exit_code_for
    from once.providers import make_provider
    from once.store import open_store

    permission_mode = settings.permission_mode or HEADLESS_DEFAULT
    if permission_mode == "plan":
        mode = "plan"
    if mode == "plan":
        permission_mode = "plan"
    _warn_about_secrets(prompt)
    # A configured base_url is the openai server's; the anthropic API moves only when asked per run.
    server = settings.base_url if settings.provider == "openai" else options.base_url
    llm = make_provider(settings.provider, replay=options.replay, record=options.record, base_url=server,
                        timeout=settings.request_timeout)
    sinks = []
    if options.output_format is OutputFormat.text:
        sinks.append(ProgressRenderer(errors_reported=True))  # main prints the error that stops a run
    elif options.output_format is OutputFormat.stream_json:
        sinks.append(JsonLinesRenderer())
    request = RunRequest(prompt=prompt, continue_session=options.continue_, session_id=options.session,
                         sinks=sinks, mode=mode, plan_text=plan_text, permission_mode=permission_mode,
                         small=small_model_for(settings, options, server), cassette_per_run=options.replay is not None)
    with open_store(str(options.db) if options.db else None) as store:
        result = run_once(request, repo=git, settings=settings, provider=llm, store=store)
    if options.output_format is OutputFormat.json:
        print_json(result.to_json())
    elif options.output_format is OutputFormat.text and result.result:
        print(terminal_safe(result.result))
    return exit_code_for(result.status)


def small_model_for(settings: "Settings", options: RunOptions, server: str | None) -> "SmallAsk | None":
    """The small-model role: a cassette of its own under --replay, else the same backend."""
    from once.agent.small import small_ask
    from once.providers import make_provider

    if options.replay is not None:
        if options.replay_small is None:
            return None  # offline: every small-model caller takes its deterministic path
        return small_ask(make_provider("replay", replay=options.replay_small), settings.small_model,
                         prices=settings.prices)
    if settings.provider == "openai" and settings.sources.get("small_model") == "default":
        # A local server runs one model; a second prompt prefix would evict its prompt cache.
        return None
    backend = make_provider(settings.provider, base_url=server, timeout=settings.request_timeout)
    return small_ask(backend, settings.small_model, prices=settings.prices)


def _warn_about_secrets(prompt: str) -> None:
    """A key pasted into a headless prompt goes to the model as typed, but the log keeps it redacted."""
    from once.safety.secrets import find_secrets

    kinds = sorted({finding.kind for finding in find_secrets(prompt)})
    if kinds:
        print(f"warning: the prompt contains what looks like a secret ({', '.join(kinds)}); it is sent to the "
              "model as typed and redacted in the log. Prefer an environment variable or a gitignored .env file.",
              file=sys.stderr)


def read_prompt(prompt: str) -> str:
    if prompt == "-":
        prompt = sys.stdin.read().strip()  # `echo task | agent run -` ends in a newline no one typed
    if not prompt.strip():
        raise UsageError("the prompt is empty", hint='Say what to do, e.g. agent run "add a --verbose flag".')
    return prompt


def check_model(settings: "Settings") -> None:
    if settings.provider == "openai" and settings.sources.get("model") == "default":
        raise UsageError("the openai provider needs the server's model name",
                         hint="Pass -m, e.g. -m qwen2.5-coder:7b, or `agent config set model NAME`.")


def _print_error_object(exc: OnceError, output_format: OutputFormat) -> None:
    """`-o json` and `-o stream-json` promise JSON on stdout, errors included."""
    error = {"kind": type(exc).__name__, "message": exc.message, "hint": exc.hint, "exit_code": exc.exit_code}
    if output_format is OutputFormat.json:
        print_json({"status": "error", "error": error})
    else:
        print(json.dumps({"type": "error", **error}), flush=True)


@contextmanager
def stop_on_terminate() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) stop a run like Ctrl-C: cleanly, recorded."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _inside_repo(path: Path) -> bool:
    from once.errors import NotARepoError
    from once.vcs import GitRepo

    try:
        GitRepo.open(path)
    except NotARepoError:
        return False
    return True
