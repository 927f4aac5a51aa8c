"""The eval tables: one row per eval, one per task run (see `schema.m008_evals`)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from once.evals.runner import TaskRun
from once.store.db import transaction


def start_eval(conn: sqlite3.Connection, eval_id: str, *, kind: str, suite: str, folder: str,
               arms: list[dict[str, Any]], repeat: int) -> None:
    with transaction(conn):
        conn.execute("INSERT INTO eval_runs (id, kind, suite, folder, arms, repeat, started_at) VALUES (?,?,?,?,?,?,?)",
                     (eval_id, kind, suite, folder, json.dumps(arms), repeat, time.time()))


def add_result(conn: sqlite3.Connection, eval_id: str, run: TaskRun) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO eval_results (eval_id, task, arm, repeat, passed, kind, turns, tokens, cost_usd,"
            " seconds, run_ids, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (eval_id, run.task, run.arm, run.repeat, int(run.passed), run.kind, run.turns, run.tokens,
             run.cost_usd, run.seconds, json.dumps(run.run_ids), json.dumps(run.to_json())))


def finish_eval(conn: sqlite3.Connection, eval_id: str, *, status: str, report: dict[str, Any]) -> None:
    with transaction(conn):
        conn.execute("UPDATE eval_runs SET status = ?, finished_at = ?, report = ? WHERE id = ?",
                     (status, time.time(), json.dumps(report), eval_id))


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
