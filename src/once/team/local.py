"""This install's side of the team, in the local SQLite store: membership, the outbox, sync state."""

from __future__ import annotations

import getpass
import socket
import sqlite3
from typing import Any

from once.learn.meta import get_meta, set_meta
from once.store.db import transaction

MEMBER_KEY = "team_member"
SALT_KEY = "team_salt"
PULLED_KEY = "team_pulled_seq"
SYNCED_KEY = "team_last_sync"
ERROR_KEY = "team_last_error"


def default_member() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def member(conn: sqlite3.Connection) -> str | None:
    return get_meta(conn, MEMBER_KEY)


def join(conn: sqlite3.Connection, name: str) -> int:
    """Become `name` in the team (the triggers start filling the outbox) and queue everything
    learned so far. Returns how many rows were queued; joining again queues nothing new."""
    with transaction(conn):
        first = member(conn) is None
        set_meta(conn, MEMBER_KEY, name)
        if not first:
            return 0
        before = conn.total_changes
        conn.execute("INSERT OR IGNORE INTO team_outbox (kind, ref) SELECT 'entry', id FROM knowledge"
                     " WHERE author = '' ORDER BY rowid")
        conn.execute("INSERT OR IGNORE INTO team_outbox (kind, ref) SELECT 'exposure', id FROM exposures ORDER BY id")
        conn.execute("INSERT OR IGNORE INTO team_outbox (kind, ref) SELECT 'decision', id FROM knowledge_log"
                     " ORDER BY id")
        return conn.total_changes - before


def pending(conn: sqlite3.Connection, limit: int) -> list[tuple[int, str, str]]:
    rows = conn.execute("SELECT seq, kind, ref FROM team_outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def outbox_size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM team_outbox").fetchone()[0])


def acknowledge(conn: sqlite3.Connection, up_to: int) -> None:
    """Drop what was sent: rows re-queued after they were read have a larger seq and stay."""
    with transaction(conn):
        conn.execute("DELETE FROM team_outbox WHERE seq <= ?", (up_to,))


def last_queued(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'team_outbox'").fetchone()
    return int(row[0]) if row else 0


def rows_by_id(conn: sqlite3.Connection, sql: str, ids: list[str]) -> list[dict[str, Any]]:
    """`sql` ends in `IN ({marks})`; run in chunks (SQLite caps bound parameters)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        cursor = conn.execute(sql.format(marks=", ".join("?" for _ in chunk)), chunk)
        names = [d[0] for d in cursor.description]
        out.extend(dict(zip(names, row)) for row in cursor.fetchall())
    return out
