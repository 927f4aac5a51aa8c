"""`agent run PROMPT`: the headless one-shot form."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from once.cli.run_options import (
    BaseUrlOpt, ContinueOpt, DbOpt, DirtyOpt, InitOpt, MaxCostOpt, MaxTurnsOpt, Mode, ModelOpt, OutputFormat,
    OutputOpt, PermissionOpt, ProviderOpt, RecordOpt, ReplayOpt, ReplaySmallOpt, RepoOpt, RunOptions, SessionOpt,
    SmallModelOpt,
)


def run(
    prompt: Optional[str] = typer.Argument(None, metavar="PROMPT",
                                           help="What the agent should do. Use - to read it from stdin."),
    mode: Mode = typer.Option(Mode.agent, "--mode", help="agent: edit and commit; plan: read only, write a plan."),
    plan: Optional[Path] = typer.Option(None, "--plan", help="Carry out this plan file (e.g. .once/plan.md)."),
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None, dirty: DirtyOpt = None,
    permission_mode: PermissionOpt = None, output_format: OutputOpt = OutputFormat.text,
    continue_: ContinueOpt = False, session: SessionOpt = None, init: InitOpt = False, db: DbOpt = None,
    repo: RepoOpt = None,
) -> None:
    """Run one task headlessly: explore, edit, commit each editing turn, check, report.

    Examples:

      agent run "add a --verbose flag to cli.py"

      agent run -o json "fix the failing test" | jq .status

      agent run --plan .once/plan.md          (carry out a plan made with `agent plan`)

      agent run --provider openai --base-url http://127.0.0.1:11434/v1 -m qwen2.5-coder "..."

    Exit codes: 0 done, 1 the agent did not finish (turn or cost limit, checks still failing,
    plan steps left, Ctrl-C, git refused), 2 usage error, 3 provider or authentication error,
    4 a replayed cassette does not fit the repository (replay_mismatch). README: Exit codes.
    """
    from once.cli.executor import run_task

    options = RunOptions(provider=provider, model=model, small_model=small_model, base_url=base_url, replay=replay,
                         replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost, dirty=dirty,
                         permission_mode=permission_mode, output_format=output_format, continue_=continue_,
                         session=session, init=init, db=db, repo=repo)
    raise typer.Exit(run_task(prompt, mode, plan, options))
