"""The team tables of the local SQLite store: the outbox, the mirror of teammates' evidence.

The outbox is filled by triggers, only once this install has joined a team (a `team_member`
row in learn_meta): an exposure stored or given its outcome, an entry created or moved, a
status move logged. `INSERT OR REPLACE` gives a re-queued row a new `seq`, so a sync that
read the old one and acknowledges it leaves the newer change queued.
"""

from __future__ import annotations

import sqlite3

_JOINED = "EXISTS (SELECT 1 FROM learn_meta WHERE key = 'team_member')"


def m011_team(conn: sqlite3.Connection) -> None:
    # Who wrote an entry: '' for this install, a teammate's name for entries pulled from the team.
    conn.execute("ALTER TABLE knowledge ADD COLUMN author TEXT NOT NULL DEFAULT ''")
    conn.execute("CREATE TABLE team_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                 " ref TEXT NOT NULL, UNIQUE (kind, ref))")
    # Teammates' exposures (never this install's own: those are in `exposures`).
    conn.execute(
        """CREATE TABLE team_exposures (
            entry_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            member TEXT NOT NULL,
            arm TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            outcome INTEGER,
            holdout REAL,
            ts REAL NOT NULL,
            known_at REAL,
            PRIMARY KEY (entry_id, session_id, run_id)
        )"""
    )
    conn.execute("CREATE INDEX team_exposures_entry ON team_exposures (entry_id)")
    # Teammates' status moves, for `agent knowledge show`.
    conn.execute(
        """CREATE TABLE team_decisions (
            member TEXT NOT NULL,
            local_id INTEGER NOT NULL,
            entry_id TEXT NOT NULL,
            ts REAL NOT NULL,
            action TEXT NOT NULL,
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            e_value REAL,
            PRIMARY KEY (member, local_id)
        )"""
    )
    for name, event, table, key in (
        ("exposure_added", "AFTER INSERT", "exposures", "'exposure', NEW.id"),
        ("exposure_known", "AFTER UPDATE OF outcome, known_at", "exposures", "'exposure', NEW.id"),
        ("entry_added", "AFTER INSERT", "knowledge", "'entry', NEW.id"),
        ("entry_changed", "AFTER UPDATE OF status, title, description, knowledge, holdout", "knowledge",
         "'entry', NEW.id"),
        ("decision_logged", "AFTER INSERT", "knowledge_log", "'decision', NEW.id"),
    ):
        conn.execute(f"CREATE TRIGGER team_{name} {event} ON {table} WHEN {_JOINED} BEGIN"
                     f" INSERT OR REPLACE INTO team_outbox (kind, ref) VALUES ({key}); END")
