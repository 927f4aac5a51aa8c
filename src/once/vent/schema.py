"""Tables of this feature (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m006_vent(conn: sqlite3.Connection) -> None:
    # A group is one problem, however often and however worded it was reported. `status` is
    # open, dismissed, resolved or regressed; `fixed_in` is the once version that fixed it.
    # `embedding` is the first report's vector (by `embedder`): new reports are compared to it.
    conn.execute(
        """CREATE TABLE vent_groups (
            id TEXT PRIMARY KEY,
            signature TEXT NOT NULL,
            category TEXT NOT NULL,
            tool TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            status_reason TEXT NOT NULL DEFAULT '',
            fixed_in TEXT,
            resolved_at REAL,
            regressed_at REAL,
            report_count INTEGER NOT NULL DEFAULT 0,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            embedding BLOB,
            embedder TEXT NOT NULL DEFAULT ''
        )"""
    )
    conn.execute("CREATE INDEX vent_groups_signature ON vent_groups (signature)")
    conn.execute("CREATE INDEX vent_groups_last_seen ON vent_groups (last_seen)")
    # One row per vent the agent filed. `context` is JSON (run, model, recent tool calls and
    # error excerpts), redacted before it is written. `regression` is 1 when the report came
    # after its group was resolved, from the fixed version or a later one.
    conn.execute(
        """CREATE TABLE vent_reports (
            id TEXT PRIMARY KEY,
            group_id TEXT NOT NULL REFERENCES vent_groups(id),
            run_id TEXT NOT NULL,
            session_id TEXT NOT NULL DEFAULT '',
            repo TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL,
            tool TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            tool_version TEXT NOT NULL DEFAULT '',
            context TEXT NOT NULL DEFAULT '{}',
            regression INTEGER NOT NULL DEFAULT 0,
            ts REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX vent_reports_group ON vent_reports (group_id, ts)")
    conn.execute("CREATE INDEX vent_reports_run ON vent_reports (run_id)")
    # Webhook payloads waiting to be delivered (new groups, spikes). `key` makes queuing
    # idempotent (one spike alert per group and day); `delivered_at` NULL means still due.
    conn.execute(
        """CREATE TABLE vent_outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at REAL NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            delivered_at REAL,
            gave_up INTEGER NOT NULL DEFAULT 0
        )"""
    )
    conn.execute("CREATE INDEX vent_outbox_due ON vent_outbox (delivered_at, gave_up, next_at)")
