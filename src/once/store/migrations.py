"""Schema migrations, applied in order; `PRAGMA user_version` = how many ran.

Append new migrations at the end; never edit or reorder one that has shipped. They are plain
SQL, not sqlite-utils: they run when a run first opens a database, which must not import it
(see `once.store.tables`), and they state CHECKs, partial indexes and FTS5 options as written.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from once.errors import StoreError
from once.store.db import transaction, user_version

Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register `fn` as the next migration."""
    MIGRATIONS.append(fn)
    return fn


def latest_version() -> int:
    return len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, one transaction each; return how many ran."""
    current = user_version(conn)
    if current > latest_version():
        raise StoreError(
            f"The database schema ({current}) is newer than this version of once knows "
            f"({latest_version()}). Upgrade once."
        )
    applied = 0
    for number, fn in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        with transaction(conn):
            # Re-check under the write lock: another process may have migrated meanwhile.
            if user_version(conn) >= number:
                continue
            fn(conn)
            conn.execute(f"PRAGMA user_version = {number:d}")
        applied += 1
    return applied


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            title TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX sessions_repo_updated ON sessions (repo, updated_at)")
    conn.execute(
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            session_id TEXT REFERENCES sessions(id),
            repo TEXT NOT NULL,
            prompt TEXT NOT NULL,
            mode TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            turns INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            result TEXT
        )"""
    )
    conn.execute("CREATE INDEX runs_repo_started ON runs (repo, started_at)")
    # Listing a session's runs and counting them must not scan every run.
    conn.execute("CREATE INDEX runs_session ON runs (session_id, started_at)")
    conn.execute(
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            ts REAL NOT NULL,
            data TEXT NOT NULL,
            UNIQUE (run_id, seq)
        )"""
    )
    conn.execute("CREATE INDEX events_type ON events (type)")
    conn.execute(
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            run_id TEXT NOT NULL REFERENCES runs(id),
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX messages_session ON messages (session_id, id)")


@migration
def m002_file_index(conn: sqlite3.Connection) -> None:
    # One row per indexed file of a repository; `symbols` is a JSON list of
    # [name, kind, line, end_line]. Binary and oversized files have a row (so a refresh
    # does not re-read them) but no search terms.
    conn.execute(
        """CREATE TABLE file_index (
            id INTEGER PRIMARY KEY,
            repo TEXT NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT NOT NULL,
            language TEXT NOT NULL,
            symbols TEXT NOT NULL DEFAULT '[]',
            doc TEXT NOT NULL DEFAULT '',
            UNIQUE (repo, path)
        )"""
    )
    # Search terms per file (rowid = file_index.id), ranked with FTS5's bm25(). Full detail
    # (positions) costs about twice the space of detail=column but ranks ~5x faster.
    conn.execute(
        """CREATE VIRTUAL TABLE file_index_fts USING fts5(
            path_terms, symbol_terms, doc_terms, body_terms, tokenize = 'porter unicode61'
        )"""
    )


@migration
def m003_run_pid(conn: sqlite3.Connection) -> None:
    """The process that runs a run, so a run left `running` by a killed process can be told apart."""
    conn.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")


# Later migrations live beside the feature that owns their tables; the order of this list is
# the schema version, so append only.
from once.queue.schema import m004_queue  # noqa: E402
from once.learn.schema import m005_knowledge  # noqa: E402
from once.vent.schema import m006_vent  # noqa: E402
from once.corrections.schema import m007_corrections  # noqa: E402
from once.evals.schema import m008_evals  # noqa: E402
from once.learn.schema import m009_evidence_order  # noqa: E402
from once.queue.schema import m010_queue_pause_reason  # noqa: E402
from once.team.local_schema import m011_team  # noqa: E402
from once.recovery.schema import m012_run_edits  # noqa: E402

MIGRATIONS.extend([m004_queue, m005_knowledge, m006_vent, m007_corrections, m008_evals, m009_evidence_order,
                   m010_queue_pause_reason, m011_team, m012_run_edits])
