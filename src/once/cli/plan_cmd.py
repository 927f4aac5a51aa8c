"""`agent plan PROMPT` and `agent approve`: plan first, then carry the plan out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from once.cli.run_options import (
    BaseUrlOpt, ContinueOpt, DbOpt, DirtyOpt, MaxCostOpt, MaxTurnsOpt, ModelOpt, OutputFormat, OutputOpt,
    PermissionOpt, ProviderOpt, RecordOpt, ReplayOpt, ReplaySmallOpt, RepoOpt, RunOptions, SessionOpt, SmallModelOpt,
)


def read_plan(path: Path) -> str:
    from once.errors import UsageError

    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the plan {path}: {exc}", hint="Make one with `agent plan \"...\"`.") from None
    if not text.strip():
        raise UsageError(f"the plan {path} is empty")
    from once.agent.plan import parse_steps

    if not parse_steps(text):
        raise UsageError(f"the plan {path} has no numbered steps under '## Steps'",
                         hint="Add steps like '1. Add the flag to cli.py', or make a new plan with `agent plan`.")
    return text


def approved_plan_prompt(path: Path) -> str:
    return f"Carry out the approved plan in {path}."


def plan(
    prompt: str = typer.Argument(..., metavar="PROMPT", help="What to plan. Use - to read it from stdin."),
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None,
    output_format: OutputOpt = OutputFormat.text, continue_: ContinueOpt = False, session: SessionOpt = None,
    db: DbOpt = None, repo: RepoOpt = None,
) -> None:
    """Explore read-only and write a plan to .once/plan.md; nothing else changes.

    The plan has the sections Overview; Key decisions and assumptions; Components, data
    and APIs; Steps; Risks; Open questions. Edit it if you like, then `agent approve`.
    Same as `agent run --mode plan`.

    Example:  agent plan "add CSV export to the report command"
    """
    from once.cli.executor import execute

    options = RunOptions(provider=provider, model=model, small_model=small_model, base_url=base_url, replay=replay,
                         replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost,
                         output_format=output_format, continue_=continue_, session=session, db=db, repo=repo)
    raise typer.Exit(execute(prompt, options, mode="plan"))


def approve(
    plan_file: Optional[Path] = typer.Option(None, "--plan", help="The plan to carry out [.once/plan.md]."),
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None, dirty: DirtyOpt = None,
    permission_mode: PermissionOpt = None, output_format: OutputOpt = OutputFormat.text, db: DbOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Carry out the plan (.once/plan.md, possibly hand-edited) in agent mode.

    Progress is reported per step; a step that cannot be done is reported, never skipped
    silently, and leaves the exit code at 1. Same as `agent run --plan .once/plan.md`.
    """
    from once.cli.common import in_repo_hint, repo_root
    from once.cli.executor import execute

    hint = in_repo_hint("`agent approve` carries out the plan of the repository `agent plan` ran in")
    path = plan_file or repo_root(repo, hint) / ".once" / "plan.md"
    options = RunOptions(provider=provider, model=model, small_model=small_model, base_url=base_url, replay=replay,
                         replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost, dirty=dirty,
                         permission_mode=permission_mode, output_format=output_format, db=db, repo=repo)
    text = read_plan(path)
    raise typer.Exit(execute(approved_plan_prompt(path), options, mode="agent", plan_text=text))
