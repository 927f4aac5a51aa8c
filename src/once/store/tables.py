"""sqlite-utils over the store's connection: rows in and out of tables by name.

Used where it replaces hand-built SQL (column lists, `?` marks, upserts) in the writers that
no run reaches: the learning loop, the queue, corrections, evals, team sync. Plain SQL stays
where it is clearer or faster, each place saying why:

- What every run writes (runs, events, messages, exposures, the file index, run edits, vent
  reports): importing sqlite_utils costs about 0.1 s and pulls in click and numpy, which a run
  must not import (tests/test_cli_startup.py).
- Migrations: shipped ones are never edited, and they run on a run's first open.
- The FTS5 tables: maintained by hand, only when the text changes; sqlite-utils' FTS triggers
  would re-index an entry on every update (each evaluation moves weights and dates).
- Reads: joins, bm25 ranking and prefix scans say what they do in SQL.

Writes through `database(conn)` inside `once.store.db.transaction` stay in that transaction:
sqlite-utils nests its own work in a savepoint when one is open.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database


def database(conn: sqlite3.Connection) -> "Database":
    """A sqlite-utils `Database` over an open store connection (it does not own or close it)."""
    from sqlite_utils import Database

    # No plugins: nothing outside once touches the connection. recursive_triggers=False: by
    # default sqlite-utils turns that pragma on, and it would outlive this wrapper on the shared
    # connection, changing what INSERT OR REPLACE fires everywhere.
    return Database(conn, execute_plugins=False, recursive_triggers=False)
