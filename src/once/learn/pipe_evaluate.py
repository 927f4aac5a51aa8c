"""The evaluate -> prune stages of `agent learn`: outcomes, posteriors, status moves, in the store.

The decisions themselves are pure (`once.learn.evaluate`); this module gathers their inputs
from the tables and writes the result in one transaction (nothing under dry run).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from once.learn.bank import KnowledgeEntry
from once.learn.evaluate import (
    Decision, ExposureTable, decay_decisions, decide, evaluate_entries, outcome_for, skill_ready, version_changes,
)

_LIVE = ("probation", "active", "demoted")
"""Evaluated: demoted entries are still retrieved and measured (see `once.learn.evaluate`)."""


def exposure_outcomes(conn: sqlite3.Connection, now: float) -> dict[int, int]:
    """Outcomes that became known for exposures still without one: {exposure id: 0 or 1}."""
    from once.learn.pipe_sessions import load_session

    rows = conn.execute("SELECT id, session_id, ts FROM exposures WHERE outcome IS NULL ORDER BY session_id").fetchall()
    by_session: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        by_session.setdefault(row[1], []).append((int(row[0]), float(row[2])))
    found: dict[int, int] = {}
    for session_id, items in by_session.items():
        session = load_session(conn, session_id, now)
        if session is None:
            continue
        starts = session.stuck_starts
        for exposure_id, ts in items:
            outcome = outcome_for(ts, session.events, starts)
            if outcome is not None:
                found[exposure_id] = outcome
    return found


def _windows(conn: sqlite3.Connection) -> dict[str, float]:
    """Evaluation starts after an entry's last version change: older sessions measured another model."""
    rows = conn.execute("SELECT entry_id, MAX(ts) FROM knowledge_log WHERE action = 'version_change'"
                        " GROUP BY entry_id").fetchall()
    return {row[0]: float(row[1]) for row in rows}


def exposure_table(conn: sqlite3.Connection, entries: list[KnowledgeEntry], fresh: dict[int, int],
                   windows: dict[str, float] | None = None) -> ExposureTable:
    """Each (entry, session)'s first exposure with a known outcome, inside the entry's window."""
    index = {entry.id: i for i, entry in enumerate(entries)}
    holdout_now = [entry.holdout for entry in entries]
    windows = _windows(conn) if windows is None else windows
    cursor = conn.execute("SELECT id, entry_id, arm = 'injected', outcome, holdout, MIN(ts) FROM exposures"
                          " GROUP BY entry_id, session_id")
    cursor.row_factory = None  # plain tuples: this can be millions of rows
    rows = cursor.fetchall()
    if fresh:
        rows = [(i, e, a, fresh.get(i, o), h, t) for i, e, a, o, h, t in rows]
    low = float("-inf")
    kept = [(index[e], a, o, h or holdout_now[index[e]], t) for _, e, a, o, h, t in rows
            if o is not None and e in index and t >= windows.get(e, low)]
    cols = list(zip(*kept)) if kept else [(), (), (), (), ()]
    order = np.argsort(np.array(cols[4], dtype=float), kind="stable")
    arrays = [np.array(col)[order] if col else np.array([]) for col in cols]
    return ExposureTable(entry=arrays[0].astype(np.int64), injected=arrays[1].astype(bool),
                         outcome=arrays[2].astype(np.int64), holdout=arrays[3].astype(float), ts=arrays[4].astype(float))


def _load_entries(conn: sqlite3.Connection) -> list[KnowledgeEntry]:
    from once.learn.bank import _COLUMNS

    marks = ", ".join("?" for _ in _LIVE)
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM knowledge WHERE status IN ({marks}) ORDER BY rowid",
                        _LIVE).fetchall()
    return [KnowledgeEntry.from_row(row) for row in rows]


def evaluate_and_apply(conn: sqlite3.Connection, bank: Any, options: Any, now: float, report: Any) -> None:
    from once.learn.pipeline import EntryLine, LiftLine

    policy = options.policy
    fresh = exposure_outcomes(conn, now)
    report.outcomes = len(fresh)
    entries = _load_entries(conn)
    decisions = version_changes(entries, options.model, options.tool_version, policy)
    changed = {d.entry_id for d in decisions}
    evaluated = [e for e in entries if e.id not in changed]
    windows = _windows(conn)
    table = exposure_table(conn, evaluated, fresh, windows)
    evals = evaluate_entries([e.id for e in evaluated], table, policy)
    decayed = {d.entry_id: d for d in decay_decisions(evaluated, now, policy)}
    logged_skill = {row[0] for row in conn.execute("SELECT DISTINCT entry_id FROM knowledge_log"
                                                   " WHERE action = 'skill_ready'")}
    for entry, ev in zip(evaluated, evals):
        decision = decide(entry, ev, policy, now, changed=entry.id in windows)
        if entry.id in decayed and (decision is None or not decision.moves):
            decision = decayed[entry.id]
        if decision is not None:
            decisions.append(decision)
        status = decision.to_status if decision is not None else entry.status
        if ev.n:
            report.lifts.append(LiftLine(entry.id, entry.title, status, ev))
        if status == "active" and skill_ready(entry, ev, policy) and entry.id not in logged_skill:
            report.skill_ready.append(EntryLine(entry.id, entry.title, status, f"e-value {ev.e_help:.0f}"))
    report.moves = [d for d in decisions if d.moves or d.action == "version_change"]
    report.reweighted = sum(1 for d in decisions if d.action == "reweight")
    if not options.dry_run:
        apply(conn, decisions, fresh, [line.entry_id for line in report.skill_ready], now)


def apply(conn: sqlite3.Connection, decisions: list[Decision], outcomes: dict[int, int], skill_ids: list[str],
          now: float) -> None:
    """Write outcomes, moves (logged) and new weights/holdouts in one transaction."""
    from once.safety.redact import redact
    from once.store.db import transaction

    moves = [d for d in decisions if d.moves or d.action == "version_change"]
    quiet = [d for d in decisions if not (d.moves or d.action == "version_change")]
    with transaction(conn):
        conn.executemany("UPDATE exposures SET outcome = ? WHERE id = ?",
                         [(outcome, exposure_id) for exposure_id, outcome in outcomes.items()])
        conn.executemany(
            "UPDATE knowledge SET status = ?, status_reason = ?, weight = COALESCE(?, weight),"
            " holdout = COALESCE(?, holdout), model = COALESCE(?, model),"
            " tool_version = COALESCE(?, tool_version), updated_at = ? WHERE id = ?",
            [(d.to_status, redact(d.reason), d.weight, d.holdout, d.model, d.tool_version, now, d.entry_id)
             for d in moves])
        # A new weight or holdout is not an edit of the entry: updated_at stays.
        conn.executemany("UPDATE knowledge SET weight = COALESCE(?, weight), holdout = COALESCE(?, holdout)"
                         " WHERE id = ?", [(d.weight, d.holdout, d.entry_id) for d in quiet])
        conn.executemany(
            "INSERT INTO knowledge_log (entry_id, ts, action, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?, ?)",
            [(d.entry_id, now, d.action, d.from_status, d.to_status, redact(d.reason)) for d in moves]
            + [(entry_id, now, "skill_ready", "active", "active", "benefit established by the e-process")
               for entry_id in skill_ids])
