"""The evaluate -> prune stages of `agent learn`: outcomes, posteriors, status moves, in the store.

The decisions themselves are pure (`once.learn.evaluate`); this module gathers their inputs
from the tables and writes the result in one transaction (nothing under dry run).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

from once.learn.bank import KnowledgeEntry, bump_version
from once.learn.evaluate import (
    Decision, EntryEval, ExposureTable, Policy, bank_rejections, decay_decisions, decide, evaluate_entries, outcome_for,
    relearned, version_changes,
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
    """Evaluation starts after an entry's last version change (older sessions ran another version
    of once) or its return from a prune (measured anew)."""
    rows = conn.execute("SELECT entry_id, MAX(ts) FROM knowledge_log WHERE action IN ('version_change', 'relearn')"
                        " GROUP BY entry_id").fetchall()
    return {row[0]: float(row[1]) for row in rows}


def relearned_since_prune(conn: sqlite3.Connection) -> dict[str, int]:
    """Pruned entry -> resolved episodes merged into it after its last prune."""
    rows = conn.execute(
        "SELECT k.id, COUNT(e.ref) FROM knowledge k JOIN episodes e ON e.entry_id = k.id"
        " WHERE k.status = 'pruned' AND e.status = 'resolved' AND e.started_at >"
        " (SELECT MAX(ts) FROM knowledge_log l WHERE l.entry_id = k.id AND l.action = 'prune') GROUP BY k.id"
    ).fetchall()
    return {row[0]: int(row[1]) for row in rows}


def exposure_table(conn: sqlite3.Connection, entries: list[KnowledgeEntry], fresh: dict[int, int],
                   windows: dict[str, float] | None = None, now: float | None = None, *,
                   pooled: bool = True) -> ExposureTable:
    """Each (entry, session)'s first exposure with a known outcome, inside the entry's window, in
    the order the outcomes became known (`fresh` ones, known at `now`, last), with its model.
    `pooled`: teammates' exposures (pulled from the team) count beside this install's own."""
    index = {entry.id: i for i, entry in enumerate(entries)}
    holdout_now = [entry.holdout for entry in entries]
    windows = _windows(conn) if windows is None else windows
    cursor = conn.execute("SELECT x.id, x.entry_id, x.arm = 'injected', x.outcome, x.holdout, MIN(x.ts), x.known_at,"
                          " COALESCE(r.model, '') FROM exposures x LEFT JOIN runs r ON r.id = x.run_id"
                          " GROUP BY x.entry_id, x.session_id")
    cursor.row_factory = None  # plain tuples: this can be millions of rows
    rows = cursor.fetchall()
    if pooled:
        rows += _teammates_rows(conn)
    known_now = float("inf") if now is None else now
    if fresh:
        rows = [(i, e, a, fresh.get(i, o), h, t, known_now if i in fresh else k, m) for i, e, a, o, h, t, k, m in rows]
    low = float("-inf")
    kept = [(index[e], a, o, h or holdout_now[index[e]], t, low if k is None else k, m, i)
            for i, e, a, o, h, t, k, m in rows if o is not None and e in index and t >= windows.get(e, low)]
    kept.sort(key=lambda row: (row[5], row[4], row[7]))  # known at, then exposed at, then id: append-only
    models = tuple(sorted({row[6] for row in kept}))
    model_index = {name: k for k, name in enumerate(models)}
    return ExposureTable(entry=np.array([r[0] for r in kept], dtype=np.int64),
                         injected=np.array([r[1] for r in kept], dtype=bool),
                         outcome=np.array([r[2] for r in kept], dtype=np.int64),
                         holdout=np.array([r[3] for r in kept], dtype=float),
                         ts=np.array([r[4] for r in kept], dtype=float),
                         model=np.array([model_index[r[6]] for r in kept], dtype=np.int64), models=models)


def _teammates_rows(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Teammates' exposures in the local table's shape, with negative ids (never an exposure's
    here); a session this install also holds is counted once, as its own."""
    cursor = conn.execute("SELECT -t.rowid, t.entry_id, t.arm = 'injected', t.outcome, t.holdout, MIN(t.ts),"
                          " t.known_at, t.model FROM team_exposures t WHERE NOT EXISTS (SELECT 1 FROM exposures x"
                          " WHERE x.entry_id = t.entry_id AND x.session_id = t.session_id)"
                          " GROUP BY t.entry_id, t.session_id")
    cursor.row_factory = None
    return cursor.fetchall()


def earlier_moves(conn: sqlite3.Connection, action: str) -> dict[str, float]:
    """Entry -> the e-value it was moved with at an earlier look (`prune` or `skill_ready`);
    moves logged before e-values were kept count as certain."""
    rows = conn.execute("SELECT entry_id, MAX(COALESCE(e_value, 1e308)) FROM knowledge_log WHERE action = ?"
                        " GROUP BY entry_id", (action,)).fetchall()
    return {row[0]: float(row[1]) for row in rows}


def entry_figures(conn: sqlite3.Connection, entry_id: str, policy: Policy | None = None) -> dict[str, EntryEval | None]:
    """One entry's evaluation on this install's evidence ("here") and on the team's pooled
    evidence ("team"), each among the whole bank as `agent learn` evaluates it."""
    entries = _load_entries(conn)
    ids = [entry.id for entry in entries]
    if entry_id not in ids:
        return {"here": None, "team": None}
    out: dict[str, EntryEval | None] = {}
    for name, pooled in (("here", False), ("team", True)):
        table = exposure_table(conn, entries, {}, pooled=pooled)
        out[name] = evaluate_entries(ids, table, policy or Policy())[ids.index(entry_id)]
    return out


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
    decisions = version_changes(entries, options.tool_version, policy) + relearned(relearned_since_prune(conn), policy)
    changed = {d.entry_id for d in decisions}
    evaluated = [e for e in entries if e.id not in changed]
    windows = _windows(conn)
    table = exposure_table(conn, evaluated, fresh, windows, now)
    evals = evaluate_entries([e.id for e in evaluated], table, policy, options.model)
    pruned = _rejected(conn, evaluated, evals, policy, "prune", lambda e, ev: ev.e_harm)
    # The whole bank is the family, as for prunes: only active entries can be proposed, so the
    # others count with e-value 0 (an e-value times an indicator is still one). A family of the
    # active entries alone, which their own evidence selected, let a bar of 20-60 propose
    # entries without effect, and harmful ones, in the simulator.
    skills = _rejected(conn, evaluated, evals, policy, "skill_ready",
                       lambda e, ev: ev.e_help if e.status == "active" else 0.0)
    decayed = {d.entry_id: d for d in decay_decisions(evaluated, now, policy)}
    e_values: dict[str, float] = {}
    for entry, ev in zip(evaluated, evals):
        decision = decide(entry, ev, policy, now, changed=entry.id in windows, prune=entry.id in pruned)
        if entry.id in decayed and (decision is None or not decision.moves):
            decision = decayed[entry.id]
        if decision is not None:
            decisions.append(decision)
            if decision.action == "prune":
                e_values[entry.id] = ev.e_harm
        status = decision.to_status if decision is not None else entry.status
        if ev.n:
            report.lifts.append(LiftLine(entry.id, entry.title, status, ev))
        if status == "active" and entry.id in skills:
            report.skill_ready.append(EntryLine(entry.id, entry.title, status, f"e-value {ev.e_help:.0f}"))
            e_values[f"skill:{entry.id}"] = ev.e_help
    report.moves = [d for d in decisions if d.moves or d.action == "version_change"]
    report.reweighted = sum(1 for d in decisions if d.action == "reweight")
    if not options.dry_run:
        apply(conn, decisions, fresh, [line.entry_id for line in report.skill_ready], now, e_values)


def _rejected(conn: sqlite3.Connection, entries: list[KnowledgeEntry], evals: list[EntryEval], policy: Policy,
              action: str, value: Any) -> set[str]:
    """Entries that e-BH moves now (`action`: prune or skill_ready), with every entry moved so at
    an earlier look among the hypotheses. An entry back from a prune is a new hypothesis (its
    old prune still counts); an entry already ready for a skill is not proposed twice."""
    by_id = {ev.entry_id: ev for ev in evals}
    earlier = earlier_moves(conn, action)
    if action == "prune":
        live = {e.id for e in entries}
        earlier = {(f"{k} (earlier)" if k in live else k): v for k, v in earlier.items()}
    current = {e.id: value(e, by_id[e.id]) for e in entries if e.id in by_id and e.id not in earlier}
    # A teammate's entry is a hypothesis here too, but only its author's install moves it for
    # good: every member testing the same pooled evidence would multiply the false moves.
    theirs = {e.id for e in entries if e.author}
    return bank_rejections(current, earlier, policy.alpha) - theirs


def apply(conn: sqlite3.Connection, decisions: list[Decision], outcomes: dict[int, int], skill_ids: list[str],
          now: float, e_values: dict[str, float] | None = None) -> None:
    """Write outcomes, moves (logged) and new weights/holdouts in one transaction."""
    from once.safety.redact import redact
    from once.store.db import transaction

    moves = [d for d in decisions if d.moves or d.action == "version_change"]
    quiet = [d for d in decisions if not (d.moves or d.action == "version_change")]
    with transaction(conn):
        conn.executemany("UPDATE exposures SET outcome = ?, known_at = ? WHERE id = ?",
                         [(outcome, now, exposure_id) for exposure_id, outcome in outcomes.items()])
        conn.executemany(
            "UPDATE knowledge SET status = ?, status_reason = ?, weight = COALESCE(?, weight),"
            " holdout = COALESCE(?, holdout), model = COALESCE(?, model),"
            " tool_version = COALESCE(?, tool_version), updated_at = ? WHERE id = ?",
            [(d.to_status, redact(d.reason), d.weight, d.holdout, d.model, d.tool_version, now, d.entry_id)
             for d in moves])
        # Back from a prune: as fresh as the sessions that taught it again (it must not decay at once).
        conn.executemany("UPDATE knowledge SET last_retrieved_at = ? WHERE id = ?",
                         [(now, d.entry_id) for d in moves if d.action == "relearn"])
        # A new weight or holdout is not an edit of the entry: updated_at stays.
        conn.executemany("UPDATE knowledge SET weight = COALESCE(?, weight), holdout = COALESCE(?, holdout)"
                         " WHERE id = ?", [(d.weight, d.holdout, d.entry_id) for d in quiet])
        if moves or any(d.weight is not None for d in quiet):
            bump_version(conn)  # what retrieval ranks by changed: in-process indexes must reload
        e_values = e_values or {}
        conn.executemany(
            "INSERT INTO knowledge_log (entry_id, ts, action, from_status, to_status, reason, e_value)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(d.entry_id, now, d.action, d.from_status, d.to_status, redact(d.reason),
              e_values.get(d.entry_id) if d.action == "prune" else None) for d in moves]
            + [(entry_id, now, "skill_ready", "active", "active", "benefit established by the e-process (e-BH)",
                e_values.get(f"skill:{entry_id}")) for entry_id in skill_ids])
