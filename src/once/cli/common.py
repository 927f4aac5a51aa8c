"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from once.errors import OnceError

if TYPE_CHECKING:
    from once.vcs import GitRepo

RAISE_ENV = "ONCE_RAISE_ERRORS"


@contextmanager
def reported() -> Iterator[None]:
    """A OnceError becomes `error: ...` (+ `hint: ...`) on stderr and its exit code (for sub-apps
    that also run outside `main`, as in their tests)."""
    import typer

    try:
        yield
    except OnceError as exc:
        if should_raise():
            raise
        raise typer.Exit(report_error(exc)) from None


def exit_on_error(run: Callable[[], None]) -> None:
    """Run a whole command: a OnceError becomes its message and exit code; anything else is a bug,
    said plainly instead of a traceback (ONCE_RAISE_ERRORS=1 or a test run shows the traceback)."""
    try:
        run()
    except OnceError as exc:
        if should_raise():
            raise
        sys.exit(report_error(exc))
    except Exception as exc:
        if should_raise() or "PYTEST_CURRENT_TEST" in os.environ:
            raise
        sys.exit(report_error(OnceError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint=f"This is a bug in once. Rerun with {RAISE_ENV}=1 to see the traceback, and report it.",
        )))


def print_json(data: Any) -> None:
    import json  # not for the app, which imports this module before its first paint

    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def report_error(exc: OnceError) -> int:
    """Print an error for a person on stderr; return the exit code."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    return exc.exit_code


def should_raise() -> bool:
    """Re-raise instead of printing (debugging, and always under pytest)."""
    return bool(os.environ.get(RAISE_ENV))


def print_recovery(recoveries: list[Any]) -> None:
    """What recovering a killed run did (`once.recovery.triage.Recovery`), on stderr: stdout may be JSON."""
    from once.recovery.triage import describe

    for recovery in recoveries:
        for line in describe(recovery):
            print(f"note: {terminal_safe(line)}", file=sys.stderr)


def repo_dir(path: Path | None) -> Path:
    """The directory a command works in: `-C PATH` or the cwd; a missing one is a usage error."""
    from once.errors import UsageError

    where = (path or Path.cwd()).expanduser()
    if not where.is_dir():
        raise UsageError(f"no such directory: {where}")
    return where


def repo_root(path: Path | None, hint: str | None = None) -> Path:
    """The root of the git repository around `-C PATH` or the cwd; not in one is a usage error."""
    return open_repo(path, hint).root


def open_repo(path: Path | None, hint: str | None = None) -> "GitRepo":
    """The git repository around `-C PATH` or the cwd. Outside one, `hint` says what this command
    needs: the default one suggests `agent run --init`, which only fits a run."""
    from once.errors import NotARepoError
    from once.vcs import GitRepo
    from once.vcs.repo import NOT_A_REPO_HINT

    try:
        return GitRepo.open(repo_dir(path))
    except NotARepoError as exc:
        if hint is None or exc.hint != NOT_A_REPO_HINT:  # e.g. a bare repository has its own hint
            raise
        raise NotARepoError(exc.message, hint=hint) from None


def in_repo_hint(what: str) -> str:
    """The hint for a command that works on one repository, outside any."""
    return f"{what}: run it there (cd into it, or pass -C PATH)."


_CONTROL = {c: None for c in range(32) if c not in (9, 10)}
_CONTROL[127] = None


def terminal_safe(text: str) -> str:
    """Text from a model or a log without control characters (escape sequences) for a terminal."""
    return text.translate(_CONTROL)
