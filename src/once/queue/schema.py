"""Tables of this feature (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m004_queue(conn: sqlite3.Connection) -> None:
    # One row per queued prompt of a repository. `position` orders the queue (up and down swap
    # positions; top, bottom and a number renumber the repository's items). A `running` row
    # belongs to `lease_owner` until `lease_expires` (unix seconds): a crashed drainer's item
    # becomes claimable again.
    conn.execute(
        """CREATE TABLE queue_items (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed')),
            repeat INTEGER NOT NULL DEFAULT 1 CHECK (repeat BETWEEN 1 AND 50),
            lease_owner TEXT,
            lease_expires REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX queue_items_repo_position ON queue_items (repo, position)")
    # Every run an item started, in order: a repeated item has several. `run_id` is not a
    # foreign key: a run refused before it was recorded (busy repo, bad flags) has none.
    conn.execute(
        """CREATE TABLE queue_runs (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL REFERENCES queue_items(id) ON DELETE CASCADE,
            run_id TEXT,
            owner TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            finished_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX queue_runs_item ON queue_runs (item_id, id)")
    # Per-repository state: a paused queue is kept but nothing new is claimed from it.
    conn.execute(
        """CREATE TABLE queue_state (
            repo TEXT PRIMARY KEY,
            paused INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        )"""
    )


def m010_queue_pause_reason(conn: sqlite3.Connection) -> None:
    # Why the queue was paused when the drainer (not the user) paused it: a refused API key,
    # the provider overloaded too many times in a row. NULL for a pause by hand.
    conn.execute("ALTER TABLE queue_state ADD COLUMN reason TEXT")
