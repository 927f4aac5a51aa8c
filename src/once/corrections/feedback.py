"""Thumbs up/down on a response: recording it, and counting ratings over time and per model."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Iterable

from once.errors import UsageError
from once.events import Feedback

RATINGS = ("up", "down")
BUCKETS = ("day", "week", "month")


@dataclass(frozen=True)
class Rating:
    """One stored rating (the latest of its response; earlier ones are superseded)."""

    run_id: str
    session_id: str
    turn: int | None
    rating: str
    comment: str
    model: str
    ts: float


def last_turn(events: Iterable[dict[str, Any]]) -> tuple[int | None, str]:
    """(the last model turn of a run, its model) from its events."""
    turn, model = None, ""
    for event in events:
        if event.get("type") == "model_response":
            turn, model = event.get("turn"), str(event.get("model") or "")
    return turn, model


def record_feedback(store: Any, *, repo: str | None, rating: str, run_id: str | None = None,
                    comment: str = "", turn: int | None = None) -> Feedback:
    """Append a Feedback event to a run (the latest of `repo` by default) and return it."""
    if rating not in RATINGS:
        raise UsageError(f"a rating is 'up' or 'down', not '{rating}'")
    run = store.get_run(run_id) if run_id else store.latest_run(repo)
    if run is None:
        where = f"'{run_id}'" if run_id else "in this repository"
        raise UsageError(f"no run {where} to rate", hint="List runs with `agent log`; rate one with --run ID.")
    last, model = last_turn(store.run_events(run.id))
    if turn is not None and (last is None or not 1 <= turn <= last):
        raise UsageError(f"run {run.id} has no turn {turn}" + (f" (it has 1..{last})" if last else ""))
    event = Feedback(run_id=run.id, rating=rating, comment=comment.strip(), turn=turn if turn is not None else last,
                     model=model or run.model, source="user")
    store.append_event(event)
    return event


def latest_ratings(rows: Iterable[Rating]) -> tuple[list[Rating], int]:
    """The last rating of each (run, turn), oldest first; and how many earlier ones it replaced."""
    latest: dict[tuple[str, int | None], Rating] = {}
    total = 0
    for row in sorted(rows, key=lambda r: r.ts):
        total += 1
        latest[(row.run_id, row.turn)] = row
    kept = sorted(latest.values(), key=lambda r: r.ts)
    return kept, total - len(kept)


def load_ratings(conn: sqlite3.Connection, repo: str | None) -> list[Rating]:
    """Every feedback event (of `repo`'s runs, or all), with its run's session."""
    where, params = ("AND r.repo = ?", (repo,)) if repo is not None else ("", ())
    rows = conn.execute("SELECT e.data, r.session_id, r.model FROM events e JOIN runs r ON r.id = e.run_id"
                        f" WHERE e.type = 'feedback' {where} ORDER BY e.ts, e.id", params).fetchall()
    out = []
    for row in rows:
        data = json.loads(row["data"])
        out.append(Rating(run_id=data["run_id"], session_id=row["session_id"] or "", turn=data.get("turn"),
                          rating=data.get("rating", ""), comment=data.get("comment") or "",
                          model=data.get("model") or row["model"] or "", ts=float(data.get("ts") or 0)))
    return out


@dataclass
class Tally:
    up: int = 0
    down: int = 0

    @property
    def rate(self) -> float | None:
        """Share of thumbs up; None with no ratings."""
        total = self.up + self.down
        return self.up / total if total else None

    def add(self, rating: str) -> None:
        if rating == "up":
            self.up += 1
        elif rating == "down":
            self.down += 1

    def to_dict(self) -> dict[str, Any]:
        return {"up": self.up, "down": self.down, "rate": self.rate}


@dataclass
class FeedbackStats:
    total: Tally = field(default_factory=Tally)
    by_model: dict[str, Tally] = field(default_factory=dict)
    by_period: dict[str, Tally] = field(default_factory=dict)
    superseded: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total.to_dict(), "superseded": self.superseded,
                "by_model": {k: v.to_dict() for k, v in self.by_model.items()},
                "by_period": [{"period": k, **v.to_dict()} for k, v in self.by_period.items()]}


def period_of(ts: float, bucket: str) -> str:
    day = dt.datetime.fromtimestamp(ts).date()
    if bucket == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def summarize(ratings: Iterable[Rating], bucket: str = "day") -> FeedbackStats:
    """Counts and rates overall, per model and per period (oldest first). Pure."""
    if bucket not in BUCKETS:
        raise UsageError(f"unknown period '{bucket}'", hint=f"Use one of: {', '.join(BUCKETS)}.")
    kept, superseded = latest_ratings(ratings)
    stats = FeedbackStats(superseded=superseded)
    for row in kept:
        stats.total.add(row.rating)
        stats.by_model.setdefault(row.model or "unknown", Tally()).add(row.rating)
        stats.by_period.setdefault(period_of(row.ts, bucket), Tally()).add(row.rating)
    return stats
