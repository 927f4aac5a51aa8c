"""The edit journal: each file a run writes is recorded before it lands and settled after the
turn's commit, so a run killed in between leaves a record of exactly what it wrote."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass

from once.store.db import transaction

_UPSERT = (
    "INSERT INTO run_edits (run_id, turn, path, old_blob, new_blob, state, recorded_at)"
    " VALUES (?, ?, ?, ?, ?, 'landing', ?)"
    " ON CONFLICT (run_id, turn, path) DO UPDATE SET new_blob = excluded.new_blob, state = 'landing'"
)


def blob_id(data: bytes | None) -> str | None:
    """The git (SHA-1) blob id of `data`, as `git hash-object` gives it without filters; None: no file."""
    if data is None:
        return None
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class JournaledEdit:
    """The last unsettled record of one path of a run."""

    path: str
    turn: int
    old_blob: str | None
    new_blob: str | None


class EditJournal:
    """The writer a run uses; one transaction per step, so a kill leaves whole records."""

    def __init__(self, conn: sqlite3.Connection, run_id: str) -> None:
        self.conn = conn
        self.run_id = run_id
        self._open = False

    def landing(self, turn: int, edits: list[tuple[str, bytes | None, bytes | None]]) -> None:
        """Before any file of the turn is written: (path, old content, new content) each."""
        rows = [(self.run_id, turn, path, blob_id(old), blob_id(new), time.time()) for path, old, new in edits]
        self._upsert(rows)

    def committing(self, turn: int, blobs: dict[str, str | None]) -> None:
        """Just before the commit: the content on disk of every file it takes. A file a command
        changed is new here, already on disk: its old blob is its new one (it cannot be "not landed")."""
        self._upsert([(self.run_id, turn, path, blob, blob, time.time()) for path, blob in blobs.items()])

    def settle(self, files: list[str], sha: str | None) -> None:
        """After the commit: its files are committed; rows left open were kept out of it on purpose
        (files git ignores) or never landed (a write that failed and was rolled back)."""
        if not self._open:
            return
        with transaction(self.conn) as conn:
            conn.executemany(
                "UPDATE run_edits SET state = 'committed', commit_sha = ? WHERE run_id = ? AND path = ?"
                " AND state = 'landing'", [(sha, self.run_id, path) for path in files])
            conn.execute("UPDATE run_edits SET state = 'kept' WHERE run_id = ? AND state = 'landing'",
                         (self.run_id,))
        self._open = False

    def _upsert(self, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        with transaction(self.conn) as conn:
            conn.executemany(_UPSERT, rows)
        self._open = True


def unsettled_edits(conn: sqlite3.Connection, run_id: str) -> list[JournaledEdit]:
    """Per path, the latest record of `run_id` still `landing` (a path edited in two turns counts once)."""
    rows = conn.execute(
        "SELECT path, turn, old_blob, new_blob FROM run_edits WHERE run_id = ? AND state = 'landing'"
        " ORDER BY turn, id", (run_id,)).fetchall()
    latest = {row["path"]: JournaledEdit(row["path"], row["turn"], row["old_blob"], row["new_blob"]) for row in rows}
    return sorted(latest.values(), key=lambda edit: edit.path)


def journaled_paths(conn: sqlite3.Connection, run_id: str) -> list[str]:
    """Every path the run recorded, settled or not (where its temp files may be)."""
    rows = conn.execute("SELECT DISTINCT path FROM run_edits WHERE run_id = ? ORDER BY path", (run_id,)).fetchall()
    return [row["path"] for row in rows]
