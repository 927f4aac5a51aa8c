"""The database as plain tables: sqlite-utils reads what once wrote, and writes inside its transactions."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from once.store import Store
from once.store.db import transaction
from once.store.tables import database
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message


def test_sqlite_utils_reads_runs_events_and_knowledge_entries_by_table_name(cli, repo, tmp_path):
    db_file = tmp_path / "once.db"
    cassette = write_cassette(tmp_path / "c.json", [message("The entry point is cli.py.")])
    ran = cli("run", "--replay", str(cassette), "--db", str(db_file), "-o", "json", "where does it start?", cwd=repo)
    assert ran.code == 0, ran.stderr
    added = cli("knowledge", "add", "-t", "pytest cannot import the package", "-d", "ModuleNotFoundError in tests",
                "-k", "Install it editable first.", "--json", "--db", str(db_file), cwd=repo)
    assert added.code == 0, added.stderr
    run_id, entry_id = ran.json()["run_id"], added.json()["id"]

    db = sqlite_utils.Database(db_file)
    try:
        assert {"runs", "events", "knowledge"} <= set(db.table_names())
        run = db["runs"].get(run_id)
        assert (run["prompt"], run["status"], run["repo"]) == ("where does it start?", "done", str(repo))
        events = list(db["events"].rows_where("run_id = ?", [run_id], order_by="seq"))
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_finished"
        assert json.loads(events[-1]["data"])["status"] == "done"
        entry = db["knowledge"].get(entry_id)
        assert (entry["title"], entry["status"], entry["repo"]) == (
            "pytest cannot import the package", "probation", str(repo))
    finally:
        db.close()


def test_writes_through_sqlite_utils_commit_and_roll_back_with_the_callers_transaction(tmp_path):
    with Store(tmp_path / "once.db") as store:
        with transaction(store.conn):
            database(store.conn)["learn_meta"].upsert({"key": "kept", "value": "1"}, pk="key")
        with pytest.raises(RuntimeError), transaction(store.conn):
            database(store.conn)["learn_meta"].upsert({"key": "kept", "value": "2"}, pk="key")
            database(store.conn)["learn_meta"].insert({"key": "dropped", "value": "x"})
            raise RuntimeError("the caller's work failed")
        rows = store.conn.execute("SELECT key, value FROM learn_meta ORDER BY key").fetchall()
        assert [tuple(r) for r in rows] == [("kept", "1")]
        # The wrapper leaves the shared connection as it found it.
        assert store.conn.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
        assert not store.conn.in_transaction
