"""Opening and migrating the database: exact schema, versions, refusals."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from once.errors import StoreError
from once.store import Store
from once.store.db import connect, transaction, user_version
from once.store.migrations import MIGRATIONS, latest_version, m001_initial, migrate

# (name, declared type, NOT NULL, default, primary key position)
EXPECTED_COLUMNS = {
    "sessions": [
        ("id", "TEXT", 0, None, 1),
        ("repo", "TEXT", 1, None, 0),
        ("title", "TEXT", 0, None, 0),
        ("created_at", "REAL", 1, None, 0),
        ("updated_at", "REAL", 1, None, 0),
    ],
    "runs": [
        ("id", "TEXT", 0, None, 1),
        ("session_id", "TEXT", 0, None, 0),
        ("repo", "TEXT", 1, None, 0),
        ("prompt", "TEXT", 1, None, 0),
        ("mode", "TEXT", 1, None, 0),
        ("provider", "TEXT", 1, None, 0),
        ("model", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, None, 0),
        ("started_at", "REAL", 1, None, 0),
        ("finished_at", "REAL", 0, None, 0),
        ("turns", "INTEGER", 1, "0", 0),
        ("input_tokens", "INTEGER", 1, "0", 0),
        ("output_tokens", "INTEGER", 1, "0", 0),
        ("cache_creation_input_tokens", "INTEGER", 1, "0", 0),
        ("cache_read_input_tokens", "INTEGER", 1, "0", 0),
        ("cost_usd", "REAL", 1, "0", 0),
        ("result", "TEXT", 0, None, 0),
        ("pid", "INTEGER", 0, None, 0),
        ("commits", "INTEGER", 1, "0", 0),
    ],
    "events": [
        ("id", "INTEGER", 0, None, 1),
        ("run_id", "TEXT", 1, None, 0),
        ("seq", "INTEGER", 1, None, 0),
        ("type", "TEXT", 1, None, 0),
        ("ts", "REAL", 1, None, 0),
        ("data", "TEXT", 1, None, 0),
    ],
    "messages": [
        ("id", "INTEGER", 0, None, 1),
        ("session_id", "TEXT", 1, None, 0),
        ("run_id", "TEXT", 1, None, 0),
        ("seq", "INTEGER", 1, None, 0),
        ("role", "TEXT", 1, None, 0),
        ("content", "TEXT", 1, None, 0),
    ],
    "file_index": [
        ("id", "INTEGER", 0, None, 1),
        ("repo", "TEXT", 1, None, 0),
        ("path", "TEXT", 1, None, 0),
        ("size", "INTEGER", 1, None, 0),
        ("mtime_ns", "INTEGER", 1, None, 0),
        ("hash", "TEXT", 1, None, 0),
        ("language", "TEXT", 1, None, 0),
        ("symbols", "TEXT", 1, "'[]'", 0),
        ("doc", "TEXT", 1, "''", 0),
    ],
}
# FTS5 tables (and their shadow tables) are checked by their own tests.
FTS_TABLES = {"file_index_fts"}

EXPECTED_FOREIGN_KEYS = {
    "sessions": set(),
    "runs": {("session_id", "sessions", "id")},
    "events": {("run_id", "runs", "id")},
    "messages": {("session_id", "sessions", "id"), ("run_id", "runs", "id")},
    "file_index": set(),
}


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [tuple(row) for row in conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name")]


@pytest.fixture
def conn(tmp_path: Path):
    connection = connect(tmp_path / "once.db", known_version=latest_version())
    yield connection
    connection.close()


def test_blank_database_gets_exact_tables_and_columns(conn: sqlite3.Connection) -> None:
    assert migrate(conn) == len(MIGRATIONS)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert FTS_TABLES <= tables
    # The core tables, exactly; each feature (queue, knowledge, vent, corrections) tests its own.
    assert set(EXPECTED_COLUMNS) <= tables
    for table, expected in EXPECTED_COLUMNS.items():
        columns = [(r["name"], r["type"], r["notnull"], r["dflt_value"], r["pk"])
                   for r in conn.execute(f"PRAGMA table_info({table})")]
        assert columns == expected, table
        keys = {(r["from"], r["table"], r["to"]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")}
        assert keys == EXPECTED_FOREIGN_KEYS[table], table


def test_indexes_exist(conn: sqlite3.Connection) -> None:
    migrate(conn)

    def indexed(table: str) -> set[tuple[str, ...]]:
        return {
            tuple(r["name"] for r in conn.execute(f"PRAGMA index_info({row['name']})"))
            for row in conn.execute(f"PRAGMA index_list({table})")
        }

    assert ("repo", "updated_at") in indexed("sessions")
    assert ("repo", "started_at") in indexed("runs")
    assert ("session_id", "started_at") in indexed("runs")
    assert {("type",), ("run_id", "seq")} <= indexed("events")
    assert ("session_id", "id") in indexed("messages")


def test_user_version_and_second_migrate_is_a_no_op(conn: sqlite3.Connection) -> None:
    assert user_version(conn) == 0
    migrate(conn)
    assert user_version(conn) == latest_version() == len(MIGRATIONS) >= 1
    before = _schema(conn)
    assert migrate(conn) == 0
    assert _schema(conn) == before
    assert user_version(conn) == latest_version()


def test_migrations_are_registered_in_order() -> None:
    assert MIGRATIONS[0] is m001_initial
    assert len(set(MIGRATIONS)) == len(MIGRATIONS)


def test_pragmas(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.isolation_level is None
    assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)


def test_transaction_commits_or_rolls_back(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE t (x INTEGER)")
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError):
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT x FROM t")] == [1]


def test_a_failing_migration_leaves_the_previous_version(conn: sqlite3.Connection,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("broken migration")

    monkeypatch.setattr("once.store.migrations.MIGRATIONS", [m001_initial, broken])
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn)
    assert user_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None


def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE future (x)")
    raw.execute(f"PRAGMA user_version = {latest_version() + 5}")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version of once") as info:
        Store(path)
    assert str(path) in info.value.message
    with pytest.raises(StoreError, match="newer version of once"):
        connect(path)  # the default limit is what this once knows
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists(), "a refused database must not be switched to WAL"


def test_migrate_refuses_a_newer_schema_too(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(StoreError, match="newer"):
        migrate(conn)


def test_directory_as_database_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        Store(tmp_path)
    message = info.value.message
    assert str(tmp_path) in message and "directory" in message
    assert "--db" in message and "ONCE_DB" in message


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite\n" * 100)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in info.value.message and "--db" in info.value.message


def test_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="ONCE_DB"):
        Store(blocker / "sub" / "once.db")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="--db"):
            Store(locked / "once.db")
    finally:
        locked.chmod(0o700)


def test_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "once.db"
    with Store(path) as store:
        assert store.path == path
    assert path.is_file()
