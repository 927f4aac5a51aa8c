"""Small per-install values of the learning loop and the team (`learn_meta`: key -> text)."""

from __future__ import annotations

import sqlite3

from once.store.tables import database


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM learn_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Insert or overwrite; call inside the caller's transaction."""
    database(conn)["learn_meta"].upsert({"key": key, "value": value}, pk="key")
