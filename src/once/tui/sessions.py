"""Earlier sessions: a summary line each for the picker, and their conversation to show again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from once.conversation import Shown, conversation, load_session  # noqa: F401  (the app's names)

if TYPE_CHECKING:
    from once.events import Event


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


@dataclass
class SessionPast:
    """What a reopened session brings back besides its conversation: its own totals and steps."""

    tokens: int = 0
    cost: float = 0.0
    events: list[Event] = field(default_factory=list)
    """Its runs' events, oldest first, for the Details tab."""
    durations: dict[str, float] = field(default_factory=dict)
    """Each tool call's duration in ms, by tool_use_id."""


def load_past(db: Path | None, session_id: str) -> SessionPast:
    from once.events import ToolResult, event_from_dict
    from once.store import open_store

    past = SessionPast()
    with open_store(str(db) if db else None) as store:
        for run in reversed(store.list_runs(None, limit=10_000, session_id=session_id)):
            past.tokens += sum(run.usage.values())
            past.cost += run.cost_usd
            past.events.extend(event_from_dict(data) for data in store.run_events(run.id))
    past.durations = {e.tool_use_id: e.duration_ms for e in past.events if isinstance(e, ToolResult)}
    return past
