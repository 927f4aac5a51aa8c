"""The proposals and anti-lessons tables, over a store's connection. Everything stored is redacted."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any

from once.corrections.proposals import Proposal
from once.errors import UsageError
from once.safety.redact import redact
from once.store.db import transaction
from once.store.tables import database

_COLUMNS = tuple(f.name for f in fields(Proposal))
_TEXT = ("body", "replaces", "rationale", "expected", "note", "location")


def _row_to_proposal(row: sqlite3.Row) -> Proposal:
    return Proposal(**{name: row[name] for name in _COLUMNS})


def insert_proposal(conn: sqlite3.Connection, proposal: Proposal) -> bool:
    """Store a proposal; False when it is a duplicate (same correction, or a pending one for
    the same target), which is skipped, not an error. Safe under concurrent inserts."""
    values = proposal.to_dict()
    for name in _TEXT:
        values[name] = redact(values[name])
    with transaction(conn):
        before = conn.total_changes
        database(conn)["proposals"].insert(values, ignore=True)
        return conn.total_changes > before


def get_proposal(conn: sqlite3.Connection, id_or_prefix: str, repo: str | None = None) -> Proposal:
    """By id or a unique prefix; UsageError when there is none or several."""
    where, params = ("AND repo = ?", (repo,)) if repo is not None else ("", ())
    rows = conn.execute(f"SELECT * FROM proposals WHERE id >= ? AND id < ? {where} ORDER BY id LIMIT 11",
                        (id_or_prefix, id_or_prefix + "\U0010ffff", *params)).fetchall()
    exact = [row for row in rows if row["id"] == id_or_prefix]
    if exact or len(rows) == 1:
        return _row_to_proposal((exact or rows)[0])
    if not rows:
        raise UsageError(f"no proposal '{id_or_prefix}'", hint="List them with `agent proposals list`.")
    raise UsageError(f"'{id_or_prefix}' matches more than one proposal: "
                     f"{', '.join(row['id'] for row in rows[:10])}", hint="Give more characters of the id.")


def list_proposals(conn: sqlite3.Connection, repo: str | None, status: str | None = None,
                   limit: int = 100) -> list[Proposal]:
    clauses, params = [], []
    if repo is not None:
        clauses.append("repo = ?")
        params.append(repo)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(f"SELECT * FROM proposals {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                        (*params, limit)).fetchall()
    return [_row_to_proposal(row) for row in rows]


def known_refs(conn: sqlite3.Connection, repo: str) -> set[str]:
    rows = conn.execute("SELECT signal_ref FROM proposals WHERE repo = ? AND signal_ref IS NOT NULL", (repo,))
    return {row[0] for row in rows}


def set_status(conn: sqlite3.Connection, proposal_id: str, status: str, *, now: float, note: str = "",
               result: str | None = None) -> None:
    """Move a proposal; call inside the caller's transaction."""
    conn.execute("UPDATE proposals SET status = ?, decided_at = ?, note = CASE WHEN ? = '' THEN note ELSE ? END,"
                 " result = COALESCE(?, result) WHERE id = ?",
                 (status, now, note, redact(note), None if result is None else result, proposal_id))


def add_anti_lesson(conn: sqlite3.Connection, proposal: Proposal, reason: str, now: float) -> None:
    """Call inside the caller's transaction."""
    from once.corrections.proposals import lesson_text

    database(conn)["anti_lessons"].insert(
        {"repo": proposal.repo, "target": proposal.target, "fingerprint": proposal.fingerprint,
         "body": redact(lesson_text(proposal)), "reason": redact(reason), "proposal_id": proposal.id,
         "created_at": now}, ignore=True)


def anti_lessons(conn: sqlite3.Connection, repo: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM anti_lessons WHERE repo = ? ORDER BY created_at", (repo,)).fetchall()
    return [dict(row) for row in rows]


def active_lessons(conn: sqlite3.Connection, repo: str, target: str) -> list[Proposal]:
    """Proposals of this target that are pending or in force (for duplicate checks)."""
    rows = conn.execute("SELECT * FROM proposals WHERE repo = ? AND target = ? AND status IN"
                        " ('pending', 'applied', 'approved')", (repo, target)).fetchall()
    return [_row_to_proposal(row) for row in rows]
