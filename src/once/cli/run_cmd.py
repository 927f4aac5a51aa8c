"""`agent run PROMPT`: the headless one-shot form."""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer

from once.cli.common import print_json, repo_dir, terminal_safe


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    stream_json = "stream-json"


class DirtyPolicy(str, Enum):
    commit = "commit"
    refuse = "refuse"


def run(
    prompt: str = typer.Argument(..., metavar="PROMPT", help="What the agent should do. Use - to read it from stdin."),
    provider: Optional[str] = typer.Option(None, "--provider", help="anthropic (default), openai or replay."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for generation."),
    small_model: Optional[str] = typer.Option(None, "--small-model", help="Model for routing and judging."),
    base_url: Optional[str] = typer.Option(None, "--base-url",
                                           help="Server for --provider openai, e.g. http://127.0.0.1:11434/v1."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Replay model responses from a cassette file."),
    record: Optional[Path] = typer.Option(None, "--record", help="Record the model's responses to a cassette."),
    max_turns: Optional[int] = typer.Option(None, "--max-turns", min=1, help="Stop after this many model calls [50]."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="Stop once the run costs this many USD."),
    dirty: Optional[DirtyPolicy] = typer.Option(None, "--dirty",
                                                help="Uncommitted changes in a file to edit: commit them first "
                                                     "(default) or refuse."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--output-format", "-o",
                                               help="text: progress on stderr, answer on stdout; json: one object "
                                                    "at the end; stream-json: one event per line."),
    continue_: bool = typer.Option(False, "--continue", "-c", help="Continue the latest session in this repo."),
    session: Optional[str] = typer.Option(None, "--session", help="Continue the session with this id."),
    init: bool = typer.Option(False, "--init", help="Create a git repository here if there is none."),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file to log to [$ONCE_DB]."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="Run in this repository instead of the cwd."),
) -> None:
    """Run one task headlessly: explore, edit, commit each editing turn, report.

    Examples:

      agent run "add a --verbose flag to cli.py"

      agent run -o json "fix the failing test" | jq .status

      agent run --provider openai --base-url http://127.0.0.1:11434/v1 -m qwen2.5-coder "..."

    Exit codes: 0 done, 1 the agent did not finish (turn or cost limit, Ctrl-C, git refused),
    2 usage error, 3 provider or authentication error.
    """
    from once.errors import OnceError

    try:
        with _stop_on_terminate():
            finished = _run(prompt, provider=provider, model=model, small_model=small_model, base_url=base_url,
                            replay=replay, record=record, max_turns=max_turns, max_cost=max_cost, dirty=dirty,
                            output_format=output_format, continue_=continue_, session=session, init=init, db=db,
                            repo=repo)
    except OnceError as exc:
        if output_format is not OutputFormat.text:
            _print_error_object(exc, output_format)
        raise
    raise typer.Exit(0 if finished else 1)


def _run(prompt: str, *, provider: str | None, model: str | None, small_model: str | None,
         base_url: str | None, replay: Path | None, record: Path | None, max_turns: int | None,
         max_cost: float | None, dirty: DirtyPolicy | None, output_format: OutputFormat, continue_: bool,
         session: str | None, init: bool, db: Path | None, repo: Path | None) -> bool:
    from once.agent.runner import RunRequest, run_once
    from once.cli.render import JsonLinesRenderer, ProgressRenderer
    from once.config import load_settings
    from once.providers import make_provider
    from once.store import open_store
    from once.vcs import GitRepo

    prompt = _read_prompt(prompt)
    _check_flags(provider=provider, replay=replay, record=record, continue_=continue_, session=session)
    where = repo_dir(repo)
    git = GitRepo.init(where) if init and not _inside_repo(where) else GitRepo.open(where)
    flags = {"provider": "replay" if replay is not None else provider, "model": model, "small_model": small_model,
             "base_url": base_url, "max_turns": max_turns, "max_cost": max_cost,
             "dirty": dirty.value if dirty else None}
    settings = load_settings(git.root, flags=flags)
    _check_model(settings)
    # A configured base_url is the openai server's; the anthropic API moves only when asked per run.
    server = settings.base_url if settings.provider == "openai" else base_url
    llm = make_provider(settings.provider, replay=replay, record=record, base_url=server,
                        timeout=settings.request_timeout)
    sinks = []
    if output_format is OutputFormat.text:
        sinks.append(ProgressRenderer())
    elif output_format is OutputFormat.stream_json:
        sinks.append(JsonLinesRenderer())
    request = RunRequest(prompt=prompt, continue_session=continue_, session_id=session, sinks=sinks)
    with open_store(str(db) if db else None) as store:
        result = run_once(request, repo=git, settings=settings, provider=llm, store=store)
    if output_format is OutputFormat.json:
        print_json(result.to_json())
    elif output_format is OutputFormat.text and result.result:
        print(terminal_safe(result.result))
    return result.finished


def _read_prompt(prompt: str) -> str:
    from once.errors import UsageError

    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty", hint='Say what to do, e.g. agent run "add a --verbose flag".')
    return prompt


def _check_flags(*, provider: str | None, replay: Path | None, record: Path | None, continue_: bool,
                 session: str | None) -> None:
    """Refuse combinations that cannot mean what the user wants, before anything runs."""
    from once.errors import UsageError

    if continue_ and session:
        raise UsageError("--continue and --session both choose a session", hint="Give one of them.")
    if replay is not None and provider not in (None, "replay"):
        raise UsageError(f"--replay plays a cassette, so --provider {provider} would not be used",
                         hint="Drop one of them.")
    if record is not None:
        record = record.expanduser()
        if record.exists():
            raise UsageError(f"--record would overwrite {record}", hint="Remove it first, or record to a new file.")
        if not record.parent.is_dir():
            raise UsageError(f"--record: no such directory {record.parent}")


def _check_model(settings: object) -> None:
    from once.errors import UsageError

    if getattr(settings, "provider") == "openai" and getattr(settings, "sources").get("model") == "default":
        raise UsageError("the openai provider needs the server's model name",
                         hint="Pass -m, e.g. -m qwen2.5-coder:7b, or `agent config set model NAME`.")


def _print_error_object(exc: Exception, output_format: OutputFormat) -> None:
    """`-o json` and `-o stream-json` promise JSON on stdout, errors included."""
    error = {"kind": type(exc).__name__, "message": getattr(exc, "message", str(exc)),
             "hint": getattr(exc, "hint", None), "exit_code": getattr(exc, "exit_code", 1)}
    if output_format is OutputFormat.json:
        print_json({"status": "error", "error": error})
    else:
        print(json.dumps({"type": "error", **error}), flush=True)


@contextmanager
def _stop_on_terminate() -> Iterator[None]:
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
