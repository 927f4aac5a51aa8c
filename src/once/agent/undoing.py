"""Undo the agent's work and record it on the run that made it (shared by `agent undo` and the app)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from once.events import Undone
from once.recovery.recover import recover_killed_runs, refusal
from once.recovery.triage import Recovery
from once.store import open_store
from once.vcs import GitRepo, parse_trailers
from once.vcs.undo import UndoResult, undo_last, undo_run


def undo_recorded(git: GitRepo, db: Path | None, *, run_id: str | None = None, whole_run: bool = False,
                  reason: str = "", dirty: str = "commit",
                  recovered: Callable[[Recovery], None] | None = None) -> UndoResult:
    """Undo the last agent commit (or every commit of a run) under the repo lock, then log an
    `undo` event, with the user's reason, on the run that owned HEAD: a correction signal.

    A killed run's uncommitted edits are committed first (`recovered` hears of each), so what is
    undone is the agent's latest work; with `dirty` "refuse" the undo stops instead."""
    with open_store(str(db) if db else None) as store:
        with git.lock("undo"):
            done = recover_killed_runs(git, store, dirty=dirty)
            for recovery in done:
                if recovered is not None:
                    recovered(recovery)
            refused = refusal(done)
            if refused is not None:
                raise refused
            head = git.head_sha()
            owner = parse_trailers(git.commit_message(head)).get("Agent-Run", "") if head else ""
            result = undo_run(git, run_id) if (whole_run or run_id) else undo_last(git)
        if owner and store.get_run(owner) is not None:
            store.append_event(Undone(run_id=owner, shas=result.shas, method=result.method, reason=reason.strip()))
    return result
