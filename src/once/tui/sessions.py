"""Earlier sessions: a summary line each for the picker, and their conversation to show again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from once.conversation import Shown, conversation, load_session  # noqa: F401  (the app's names)


@dataclass(frozen=True)
class SessionSummary:
    id: str
    prompt: str
    """The session's first prompt."""
    updated_at: float
    model: str
    cost_usd: float
    runs: int


def list_summaries(db: Path | None, repo: str, limit: int = 30) -> list[SessionSummary]:
    from once.store import open_store  # lazily: the store is not needed for the app's first paint

    with open_store(str(db) if db else None) as store:
        summaries = []
        for session in store.list_sessions(repo, limit=limit):
            runs = store.list_runs(repo, limit=1000, session_id=session["id"])
            model = runs[0].model if runs else ""
            summaries.append(SessionSummary(
                id=session["id"], prompt=session.get("first_prompt") or session.get("title") or "",
                updated_at=session["updated_at"], model=model, cost_usd=sum(r.cost_usd for r in runs),
                runs=session["runs"]))
    return summaries
