"""What `agent queue run` runs for each item: the prompt, exactly as `agent run` would run it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from once.cli.executor import check_model, small_model_for, check_flags
from once.cli.run_options import RunOptions
from once.process import process_alive
from once.queue.drain import Attempt, attempt_for_error

if TYPE_CHECKING:
    from once.queue.store import QueueItem
    from once.store import Store
    from once.vcs import GitRepo


@dataclass
class ItemRunner:
    """Built once per drain, so a replayed cassette keeps its place from one item to the next."""

    git: "GitRepo"
    store: "Store"
    settings: Any
    provider: Any
    small: Any
    mode: str
    permission_mode: str
    sinks: Callable[[], list[Any]]

    def __call__(self, item: "QueueItem") -> Attempt:
        from once.agent.runner import RunRequest, run_once
        from once.errors import OnceError, VcsError
        from once.events import RunStarted

        started: list[str] = []

        def note_start(event: Any) -> None:
            if isinstance(event, RunStarted):
                started.append(event.run_id)

        request = RunRequest(prompt=item.text, sinks=[note_start, *self.sinks()], mode=self.mode,
                             permission_mode=self.permission_mode, small=self.small)
        try:
            result = run_once(request, repo=self.git, settings=self.settings, provider=self.provider,
                              store=self.store)
        except VcsError as exc:
            if not started and is_busy_error(exc):  # another process's run took the repository first
                return Attempt("busy", None, exc.message)
            return Attempt("failed", started[0] if started else None, exc.message)
        except OnceError as exc:  # a refused key or an overload is the provider's, not the item's
            return attempt_for_error(exc, started[0] if started else None)
        if result.status == "interrupted":
            return Attempt("cancelled", result.run_id, "interrupted")
        return Attempt("done" if result.finished else "failed", result.run_id, result.status)


def build_runner(options: RunOptions, git: "GitRepo", store: "Store", *, progress: bool) -> ItemRunner:
    """Check the flags and build the provider once, as `agent run` does for its one prompt."""
    from once.agent.permissions import HEADLESS_DEFAULT
    from once.cli.render import ProgressRenderer
    from once.config import load_settings
    from once.providers import make_provider

    check_flags(options)
    settings = load_settings(git.root, flags=options.flags())
    check_model(settings)
    permission_mode = settings.permission_mode or HEADLESS_DEFAULT
    mode = "plan" if permission_mode == "plan" else "agent"
    server = settings.base_url if settings.provider == "openai" else options.base_url
    llm = make_provider(settings.provider, replay=options.replay, record=options.record, base_url=server,
                        timeout=settings.request_timeout)
    return ItemRunner(git=git, store=store, settings=settings, provider=llm,
                      small=small_model_for(settings, options, server), mode=mode, permission_mode=permission_mode,
                      sinks=(lambda: [ProgressRenderer(sys.stderr)]) if progress else (lambda: []))


def repo_free(git: "GitRepo") -> bool:
    """Whether no run holds the repository's run lock, read from the lock file's holder line.

    Only read, never locked: taking the lock even for an instant could refuse another
    process's run that starts in that instant.
    """
    from once.vcs.lock import describe_holder

    (path,) = git.git_paths("once.lock")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    _run, pid = describe_holder(text)
    return not pid.isdigit() or not process_alive(int(pid))


def is_busy_error(exc: Exception) -> bool:
    """The run lock's own refusal (as opposed to, say, a rebase in progress)."""
    from once.vcs.lock import busy_error

    return str(exc).startswith(busy_error("").message.split("(")[0])

