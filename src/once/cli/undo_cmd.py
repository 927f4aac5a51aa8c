"""`agent undo`: take back the agent's last commit, or a whole run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from once.cli.common import in_repo_hint, open_repo, print_json
from once.words import plural


def undo(
    run_id: Optional[str] = typer.Argument(None, metavar="[RUN]",
                                           help="Undo every commit of this run (implies --run; a prefix is enough)."),
    run: bool = typer.Option(False, "--run", help="Undo every commit of a run, not just the last commit."),
    reason: str = typer.Option("", "--reason", "-m",
                               help="Why you undid it: kept with the run as a correction the agent learns from."),
    json_out: bool = typer.Option(False, "--json", help="Print what was undone as JSON."),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file to log to [$ONCE_DB]."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd)."),
) -> None:
    """Remove the agent's last commit (or with --run, all commits of a run).

    Refuses (exit 1, saying why) when HEAD is not the agent's commit or its files changed
    since. Commits already on the upstream branch are reverted with new commits instead of
    rewriting history. Your own uncommitted changes that the agent saved in a wip commit come
    back as uncommitted changes.

    Examples:

      agent undo

      agent undo --run

      agent undo --run r-1m7yc3nb9jaq8g

      agent undo --reason "never edit generated files under gen/"
    """
    from once.agent.undoing import undo_recorded
    from once.cli.common import print_recovery
    from once.config import load_settings

    git = open_repo(repo, in_repo_hint("`agent undo` takes back commits in the repository the agent made them in"))
    dirty = load_settings(git.root).dirty
    result = undo_recorded(git, db, run_id=run_id, whole_run=run, reason=reason, dirty=dirty,
                           recovered=lambda done: None if done.refused else print_recovery([done]))
    if json_out:
        print_json({"shas": result.shas, "method": result.method, "files": result.files,
                    "restored_user_changes": result.restored_user_changes})
        return
    verb = "reverted" if result.method == "revert" else "removed"
    print(f"{verb} {plural(len(result.shas), 'commit')}: "
          f"{', '.join(s[:8] for s in result.shas)}")
    if result.files:
        print("files restored: " + ", ".join(result.files))
    if result.restored_user_changes:
        print("your earlier uncommitted changes are back, uncommitted: " + ", ".join(result.restored_user_changes))
