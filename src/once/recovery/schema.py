"""Tables of this feature (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m012_run_edits(conn: sqlite3.Connection) -> None:
    # One row per file a turn of a run wrote, recorded before the file lands and settled after the
    # turn's commit. Blobs are git blob ids of the content (NULL: no file), so a later run can tell
    # whether what is on disk is still what the run wrote. `old_blob` = `new_blob` for files a
    # command changed: they were on disk before they were recorded.
    conn.execute(
        """CREATE TABLE run_edits (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            turn INTEGER NOT NULL,
            path TEXT NOT NULL,
            old_blob TEXT,
            new_blob TEXT,
            state TEXT NOT NULL DEFAULT 'landing'
                CHECK (state IN ('landing', 'committed', 'kept', 'recovered', 'unlanded', 'changed')),
            commit_sha TEXT,
            recorded_at REAL NOT NULL,
            UNIQUE (run_id, turn, path)
        )"""
    )
    # Recovery looks for the rows still `landing`; every other state is final.
    conn.execute("CREATE INDEX run_edits_state ON run_edits (state, run_id)")
    # Commits a run made, kept current while it runs (a killed run shows its real count).
    conn.execute("ALTER TABLE runs ADD COLUMN commits INTEGER NOT NULL DEFAULT 0")
