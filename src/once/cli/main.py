"""The `agent` command. Subcommands import their heavy parts only when they run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from once import __version__
from once.cli.common import exit_on_error
from once.cli.run_options import (
    BaseUrlOpt, MaxCostOpt, MaxTurnsOpt, ModelOpt, ProviderOpt, RecordOpt, ReplayOpt, ReplaySmallOpt, SmallModelOpt,
)
from once.cli import (
    acp_cmd, config_cmd, demo_cmd, eval_cmd, feedback_cmd, files_cmd, knowledge_cmd, learn_cmd, log_cmd, memory_cmd, plan_cmd,
    proposals_cmd, queue_cmd, run_cmd, scan_cmd, skills_cmd, team_cmd, undo_cmd, vent_cmd,
)

app = typer.Typer(
    name="agent",
    help=(
        "once: a coding agent for your git repository that commits every edit and learns from "
        "every session, so a mistake happens once.\n\n"
        "Try it offline with `agent demo`. With ANTHROPIC_API_KEY set, run a task with "
        "`agent run \"add a --verbose flag to cli.py\"`."
    ),
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run")(run_cmd.run)
app.command("plan")(plan_cmd.plan)
app.command("approve")(plan_cmd.approve)
app.command("demo")(demo_cmd.demo)
app.command("undo")(undo_cmd.undo)
app.command("files")(files_cmd.files)
app.command("log")(log_cmd.log)
app.command("scan")(scan_cmd.scan)
app.command("sessions")(log_cmd.sessions)
app.command("acp")(acp_cmd.acp)
app.add_typer(config_cmd.app, name="config")
app.add_typer(skills_cmd.app, name="skills")
app.add_typer(queue_cmd.app, name="queue")
app.add_typer(knowledge_cmd.app, name="knowledge")
app.add_typer(vent_cmd.app, name="vent")
app.add_typer(feedback_cmd.app, name="feedback")
app.add_typer(proposals_cmd.app, name="proposals")
app.add_typer(memory_cmd.app, name="memory")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(team_cmd.app, name="team")
app.command("learn")(learn_cmd.learn)


def _version(value: bool) -> None:
    if value:
        print(f"once {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
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
    from once.cli.launch import AppArgs
    from once.cli.tui_cmd import NO_TTY_HINT, NO_TTY_MESSAGE, has_terminal, open_tui

    if not has_terminal():  # e.g. piped or under CI: say why, show what else there is, and fail
        print(f"{NO_TTY_MESSAGE}\n{NO_TTY_HINT}\n", file=sys.stderr)
        print(ctx.get_help())
        raise typer.Exit(2)
    open_tui(AppArgs(permission_mode=permission_mode, replay=replay, model=model, provider=provider, db=db, repo=repo,
                     continue_session=continue_, small_model=small_model, base_url=base_url,
                     replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost))


def main(argv: list[str] | None = None) -> None:
    exit_on_error(lambda: app(args=argv, prog_name="agent"))
