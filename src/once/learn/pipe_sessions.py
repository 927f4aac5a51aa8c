"""The detect stage of `agent learn`: one session's events -> signals -> stuck episodes.

Reads the store (sessions, runs, events) and calls the pure detectors; writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Sequence

QUIET_SECONDS = 30 * 60.0
"""A session idle this long with no run in progress counts as ended (abandonment may be judged)."""


@dataclass
class SessionData:
    session_id: str
    repo: str
    started_at: float
    ended: bool
    model: str
    events: list[dict[str, Any]]
    signals: list[Any] = field(default_factory=list)
    episodes: list[Any] = field(default_factory=list)
    insights: list[Any] = field(default_factory=list)

    @property
    def stuck_starts(self) -> list[float]:
        return [float(e.started_at) for e in self.episodes]

    @property
    def first_prompt(self) -> str:
        return next((str(e.get("prompt", "")) for e in self.events if e.get("type") == "run_started"), "")


def sessions_since(conn: sqlite3.Connection, since: float | None) -> list[str]:
    """Sessions with activity at or after `since` (all when None), oldest first."""
    if since is None:
        rows = conn.execute("SELECT id FROM sessions ORDER BY created_at, id").fetchall()
    else:
        rows = conn.execute("SELECT id FROM sessions WHERE updated_at >= ? ORDER BY created_at, id",
                            (since,)).fetchall()
    return [row[0] for row in rows]


def session_events(conn: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    """Every event of every run of the session, in time order."""
    rows = conn.execute(
        "SELECT e.data FROM events e JOIN runs r ON r.id = e.run_id WHERE r.session_id = ?"
        " ORDER BY r.started_at, r.id, e.seq", (session_id,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def load_session(conn: sqlite3.Connection, session_id: str, now: float, judge: Any = None) -> SessionData | None:
    """A session with its signals, episodes and insights (None when it has no runs)."""
    from once.learn.episodes import find_episodes, find_insights
    from once.learn.signals import detect_signals

    head = conn.execute("SELECT repo, created_at, updated_at FROM sessions WHERE id = ?", (session_id,)).fetchone()
    runs = conn.execute("SELECT status, model FROM runs WHERE session_id = ? ORDER BY started_at, id",
                        (session_id,)).fetchall()
    if head is None or not runs:
        return None
    events = session_events(conn, session_id)
    running = any(row[0] == "running" for row in runs)
    ended = not running and now - float(head[2]) >= QUIET_SECONDS
    data = SessionData(session_id, head[0], float(head[1]), ended, str(runs[-1][1] or ""), events)
    data.signals = detect_signals(events, session_ended=ended)
    data.episodes = find_episodes(events, data.signals, session_ended=ended, judge=judge)
    data.insights = find_insights(events)
    return data


def load_sessions(conn: sqlite3.Connection, session_ids: Sequence[str], now: float,
                  judge: Any = None) -> list[SessionData]:
    out = []
    for session_id in session_ids:
        data = load_session(conn, session_id, now, judge)
        if data is not None:
            out.append(data)
    return out
