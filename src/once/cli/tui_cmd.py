"""`agent` with no arguments: open the app. Textual is imported only here, inside the call."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from once.cli.common import repo_dir
from once.errors import UsageError

if TYPE_CHECKING:
    from once.cli.app_args import AppArgs

NO_TTY_MESSAGE = "error: the interactive app needs a terminal (stdin and stdout are not both a TTY)."
NO_TTY_HINT = 'Run a prompt headlessly with `agent run "..."`, or use one of the commands below.'


def has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_tui(args: AppArgs) -> None:
    """Run the app in the repo until the user quits; without a terminal, a usage error."""
    if not has_terminal():
        raise UsageError("the interactive app needs a terminal", hint=NO_TTY_HINT)
    from once.cli.run_values import RunOptions, check_flags  # not run_options: that one imports typer
    from once.tui.app import OnceApp
    from once.tui.backend import build_backend

    check_flags(RunOptions(provider=args.provider, replay=args.replay, replay_small=args.replay_small,
                           record=args.record))
    backend = build_backend(repo_dir(args.repo), db=args.db, replay=args.replay, model=args.model,
                            provider=args.provider, permission_mode=args.permission_mode, flags=args.flags(),
                            replay_small=args.replay_small, record=args.record)
    OnceApp(backend, continue_session=args.continue_session).run()
