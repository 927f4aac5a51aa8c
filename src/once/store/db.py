"""Opening the SQLite file: pragmas, explicit transactions, clear errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from once.errors import StoreError

_CHOOSE = "choose another database file with --db PATH or the ONCE_DB environment variable"


def _fail(path: Path, why: str) -> StoreError:
    return StoreError(f"Cannot open the once database at {path}: {why} To fix it, {_CHOOSE}.")


def connect(path: Path, *, known_version: int | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` in WAL mode.

    A database whose `user_version` is above `known_version` (default: the number of
    migrations this once knows) was written by a newer once: it is refused before
    anything is written to it.
    """
    if known_version is None:
        # Imported here: migrations imports `transaction` from this module.
        from once.store.migrations import latest_version

        known_version = latest_version()
    path = Path(path)
    if path.is_dir():
        raise _fail(path, "it is a directory, not a file.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(path, f"cannot create its directory ({exc.strerror or exc}).") from None
    try:
        # isolation_level=None: no implicit transactions; `transaction()` is explicit.
        # check_same_thread=False: the TUI may log from a worker thread; Store serialises access.
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise _fail(path, str(exc)) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > known_version:
            raise StoreError(
                f"The once database at {path} was written by a newer version of once "
                f"(schema {version}; this version knows up to {known_version}). "
                f"It was left untouched. Upgrade once, or {_CHOOSE}."
            )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except StoreError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _fail(path, f"{exc}.") from None
    return conn


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception.

    IMMEDIATE takes the write lock up front, so two writers wait on busy_timeout
    instead of failing halfway through with a lock upgrade error.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
