"""The eval tables: one row per eval, one per task run (see `schema.m008_evals`)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from once.evals.runner import TaskRun
from once.store.db import transaction
from once.store.tables import database


def start_eval(conn: sqlite3.Connection, eval_id: str, *, kind: str, suite: str, folder: str,
               arms: list[dict[str, Any]], repeat: int) -> None:
    with transaction(conn):
        database(conn)["eval_runs"].insert({"id": eval_id, "kind": kind, "suite": suite, "folder": folder,
                                            "arms": json.dumps(arms), "repeat": repeat, "started_at": time.time()})


def add_result(conn: sqlite3.Connection, eval_id: str, run: TaskRun) -> None:
    # replace=True (INSERT OR REPLACE): a result recorded again for the same eval, task, arm and repeat wins.
    with transaction(conn):
        database(conn)["eval_results"].insert(
            {"eval_id": eval_id, "task": run.task, "arm": run.arm, "repeat": run.repeat, "passed": int(run.passed),
             "kind": run.kind, "turns": run.turns, "tokens": run.tokens, "cost_usd": run.cost_usd,
             "seconds": run.seconds, "run_ids": json.dumps(run.run_ids), "detail": json.dumps(run.to_json())},
            replace=True)


def finish_eval(conn: sqlite3.Connection, eval_id: str, *, status: str, report: dict[str, Any]) -> None:
    with transaction(conn):
        database(conn)["eval_runs"].update(eval_id, {"status": status, "finished_at": time.time(),
                                                     "report": json.dumps(report)})


def list_evals(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT e.id, e.kind, e.suite, e.folder, e.status, e.started_at, e.finished_at, e.arms,"
        " COUNT(r.id) AS runs, COALESCE(SUM(r.passed), 0) AS passed"
        " FROM eval_runs e LEFT JOIN eval_results r ON r.eval_id = e.id"
        " GROUP BY e.id ORDER BY e.started_at DESC LIMIT ?", (limit,)).fetchall()
    return [{**dict(row), "arms": json.loads(row["arms"])} for row in rows]


def get_eval(conn: sqlite3.Connection, id_or_prefix: str) -> dict[str, Any] | None:
    rows = conn.execute("SELECT * FROM eval_runs WHERE id = ? OR id LIKE ? ORDER BY started_at DESC",
                        (id_or_prefix, f"{id_or_prefix}%")).fetchall()
    exact = [r for r in rows if r["id"] == id_or_prefix]
    if not (exact or len(rows) == 1):
        return None
    row = dict((exact or rows)[0])
    row["arms"] = json.loads(row["arms"])
    row["report"] = json.loads(row["report"]) if row["report"] else None
    row["results"] = [
        {**dict(r), "run_ids": json.loads(r["run_ids"]), "detail": json.loads(r["detail"])}
        for r in conn.execute("SELECT * FROM eval_results WHERE eval_id = ? ORDER BY task, arm, repeat", (row["id"],))
    ]
    return row


def latest_eval(conn: sqlite3.Connection, kind: str = "run") -> str | None:
    row = conn.execute("SELECT id FROM eval_runs WHERE kind = ? ORDER BY started_at DESC LIMIT 1", (kind,)).fetchone()
    return row["id"] if row else None
