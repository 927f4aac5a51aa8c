"""The team's PostgreSQL schema, applied in order like the local store's migrations
(`team_schema.version` = how many ran). Append only; never edit one that has shipped.

Every row carries `seq`, drawn from one sequence whenever it changes: a member pulls what
changed since the last `seq` it saw. Writers take one advisory lock per transaction, so
rows become visible in `seq` order and a pull never skips a row committed late.
"""

from __future__ import annotations

from typing import Any

PUSH_LOCK = 0x6F6E6365  # pg_advisory_xact_lock key of a push ("once")

MIGRATIONS: list[list[str]] = [
    [
        "CREATE SEQUENCE team_seq",
        "CREATE TABLE team_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO team_meta (key, value) VALUES ('salt', md5(random()::text || clock_timestamp()::text))",
        """CREATE TABLE team_members (
            member TEXT PRIMARY KEY,
            first_seen DOUBLE PRECISION NOT NULL,
            last_sync DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE team_entries (
            id TEXT PRIMARY KEY,
            author TEXT NOT NULL,
            scope TEXT NOT NULL,
            repo_key TEXT,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            knowledge TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT NOT NULL DEFAULT '',
            status_by TEXT NOT NULL,
            holdout DOUBLE PRECISION NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            tool_version TEXT NOT NULL DEFAULT '',
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            seq BIGINT NOT NULL
        )""",
        "CREATE INDEX team_entries_seq ON team_entries (seq)",
        """CREATE TABLE team_exposures (
            entry_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            member TEXT NOT NULL,
            arm TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            outcome SMALLINT,
            holdout DOUBLE PRECISION,
            ts DOUBLE PRECISION NOT NULL,
            known_at DOUBLE PRECISION,
            seq BIGINT NOT NULL,
            PRIMARY KEY (entry_id, session_id, run_id)
        )""",
        "CREATE INDEX team_exposures_seq ON team_exposures (seq)",
        """CREATE TABLE team_decisions (
            member TEXT NOT NULL,
            local_id BIGINT NOT NULL,
            entry_id TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL,
            action TEXT NOT NULL,
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            e_value DOUBLE PRECISION,
            seq BIGINT NOT NULL,
            PRIMARY KEY (member, local_id)
        )""",
        "CREATE INDEX team_decisions_seq ON team_decisions (seq)",
    ],
]


def latest_version() -> int:
    return len(MIGRATIONS)


def current_version(conn: Any) -> int:
    """0 on a database the team schema has never touched."""
    row = conn.execute("SELECT to_regclass('team_schema')").fetchone()
    if row is None or row[0] is None:
        return 0
    version = conn.execute("SELECT version FROM team_schema").fetchone()
    return int(version[0]) if version else 0


def migrate(conn: Any) -> int:
    """Apply pending migrations in one transaction (two members initialising at once: the
    second waits on the lock, then finds nothing to do). Returns how many ran."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PUSH_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS team_schema (version INTEGER NOT NULL)")
        if conn.execute("SELECT count(*) FROM team_schema").fetchone()[0] == 0:
            conn.execute("INSERT INTO team_schema (version) VALUES (0)")
        current = current_version(conn)
        for statements in MIGRATIONS[current:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("UPDATE team_schema SET version = %s", (latest_version(),))
    return latest_version() - current
