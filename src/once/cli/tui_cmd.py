"""`agent` with no arguments: open the app. Textual is imported only here, inside the call."""

from __future__ import annotations

import sys
from pathlib import Path

from once.cli.common import repo_dir
from once.errors import UsageError

NO_TTY_MESSAGE = "error: the interactive app needs a terminal (stdin and stdout are not both a TTY)."
NO_TTY_HINT = 'Run a prompt headlessly with `agent run "..."`, or use one of the commands below.'


def has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_tui(repo: Path | None, db: Path | None, replay: Path | None, model: str | None, provider: str | None,
             permission_mode: str | None = None, continue_session: bool = False) -> None:
    """Run the app in the repo until the user quits; without a terminal, a usage error."""
    if not has_terminal():
        raise UsageError("the interactive app needs a terminal", hint=NO_TTY_HINT)
    from once.tui.app import OnceApp
    from once.tui.backend import build_backend

    backend = build_backend(repo_dir(repo), db=db, replay=replay, model=model, provider=provider,
                            permission_mode=permission_mode)
    OnceApp(backend, continue_session=continue_session).run()
