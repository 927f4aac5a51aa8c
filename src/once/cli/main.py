"""The `agent` command. Subcommands import their heavy parts only when they run."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

import typer

from once import __version__
from once.cli.coercion import use_plain_params
from once.cli.common import exit_on_error
from once.cli.run_options import (
    BaseUrlOpt, MaxCostOpt, MaxTurnsOpt, ModelOpt, ProviderOpt, RecordOpt, ReplayOpt, ReplaySmallOpt, SmallModelOpt,
)

HELP = (
    "once: a coding agent for your git repository that commits every edit and learns from "
    "every session, so a mistake happens once.\n\n"
    "Try it offline with `agent demo`. With ANTHROPIC_API_KEY set, run a task with "
    "`agent run \"add a --verbose flag to cli.py\"`."
)
COMMANDS = {
    "run": ("run_cmd", "run"), "plan": ("plan_cmd", "plan"), "approve": ("plan_cmd", "approve"),
    "demo": ("demo_cmd", "demo"), "undo": ("undo_cmd", "undo"), "files": ("files_cmd", "files"),
    "log": ("log_cmd", "log"), "scan": ("scan_cmd", "scan"), "sessions": ("log_cmd", "sessions"),
    "acp": ("acp_cmd", "acp"), "config": ("config_cmd", "app"), "skills": ("skills_cmd", "app"),
    "queue": ("queue_cmd", "app"), "knowledge": ("knowledge_cmd", "app"), "vent": ("vent_cmd", "app"),
    "feedback": ("feedback_cmd", "app"), "proposals": ("proposals_cmd", "app"), "memory": ("memory_cmd", "app"),
    "eval": ("eval_cmd", "app"), "team": ("team_cmd", "app"), "mcp": ("mcp_cmd", "app"),
    "db": ("db_cmd", "app"), "learn": ("learn_cmd", "learn"), "warm": ("warm_cmd", "app"),
}
"""Every command, in the order it is mounted (help lists commands, then groups): its module in
once.cli, and the function or Typer app there."""


def bare_app() -> typer.Typer:
    """The command line's settings, before any command is mounted."""
    return typer.Typer(name="agent", help=HELP, add_completion=False, no_args_is_help=False,
                       rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


def build_app(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """The command line with `names` mounted; a command's module is imported only when mounted."""
    app = bare_app()
    for name in names:
        module, attribute = COMMANDS[name]
        target = getattr(importlib.import_module(f"once.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    app.callback(invoke_without_command=True)(root)
    return app


def _version(value: bool) -> None:
    if value:
        print(f"once {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    permission_mode: Optional[str] = typer.Option(
        None, "--permission-mode", help="For the app: plan, ask (default), auto-edit or full-auto."),
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None,
    db: Optional[Path] = typer.Option(None, "--db", help="For the app: the SQLite file [$ONCE_DB]."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="For the app: the repository."),
    continue_: bool = typer.Option(False, "--continue", "-c",
                                   help="For the app: reopen this repository's latest session and its conversation."),
) -> None:
    """`agent` alone opens the interactive app in this repository (help when not in a terminal).

    The app takes the provider options `agent run` takes, e.g. `agent --provider openai --base-url URL -m NAME`.
    """
    if ctx.invoked_subcommand is not None:
        return
    from once.cli.app_args import AppArgs
    from once.cli.tui_cmd import NO_TTY_HINT, NO_TTY_MESSAGE, has_terminal, open_tui

    if not has_terminal():  # e.g. piped or under CI: say why, show what else there is, and fail
        print(f"{NO_TTY_MESSAGE}\n{NO_TTY_HINT}\n", file=sys.stderr)
        print(ctx.get_help())
        raise typer.Exit(2)
    open_tui(AppArgs(permission_mode=permission_mode, replay=replay, model=model, provider=provider, db=db, repo=repo,
                     continue_session=continue_, small_model=small_model, base_url=base_url,
                     replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost))


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole command line, for tools and tests that inspect it
        return build_app()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    use_plain_params()
    command = typer.main.get_command(build_app(_mounted(args)))
    exit_on_error(lambda: command(args=args, prog_name="agent"))


def _mounted(args: list[str]) -> Iterable[str]:
    """Only the named command when the arguments start with one: the others' modules stay unread."""
    return [args[0]] if args and args[0] in COMMANDS else COMMANDS
