"""What the app writes to the store besides runs: ratings, notes, plan decisions, cancellations, undos.

Every record is an event on a run (the one the user is reacting to), so `agent log` and the
learning loop see it exactly like the events the run emitted itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from once.errors import UsageError
if TYPE_CHECKING:  # the events, the store and git are loaded when first used, not before the app's first paint
    from once.events import Cancelled, CorrectionNote, Event, Feedback, PlanDecision
    from once.vcs import GitRepo
    from once.vcs.undo import UndoResult


def append(db: Path | None, event: Event) -> None:
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        store.append_event(event)


def last_run_id(db: Path | None, repo: str, session_id: str | None) -> str:
    """The run the user is reacting to: the latest of the session, else of the repository."""
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        runs = store.list_runs(repo, limit=1, session_id=session_id) if session_id else []
        run = runs[0] if runs else store.latest_run(repo)
    if run is None:
        raise UsageError("there is no response to rate yet", hint="Send a prompt first.")
    return run.id


def feedback(run_id: str, rating: str, comment: str, model: str) -> Feedback:
    from once.events import Feedback

    if rating not in ("up", "down"):
        raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
    return Feedback(run_id=run_id, rating=rating, comment=comment.strip(), model=model)


def note(run_id: str, text: str) -> CorrectionNote:
    from once.events import CorrectionNote

    text = text.strip()
    if not text:
        raise UsageError("a note needs text", hint="Write it after the command: /note always run the linter")
    return CorrectionNote(run_id=run_id, text=text)


def plan_decision(run_id: str, decision: str, reason: str = "", path: str = "") -> PlanDecision:
    from once.events import PlanDecision

    return PlanDecision(run_id=run_id, decision=decision, reason=reason.strip(), path=path)


def cancelled(run_id: str) -> Cancelled:
    from once.events import Cancelled

    return Cancelled(run_id=run_id, reason="user")


def undo_last_commit(git: GitRepo, db: Path | None, reason: str = "") -> UndoResult:
    """What `agent undo` does: undo the last agent commit under the repo lock, log it on its run."""
    from once.agent.undoing import undo_recorded

    return undo_recorded(git, db, reason=reason)
