"""Which runs of a repository were killed, and closing them once recovered (SQL over `runs`)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Callable

from once.store.db import transaction


@dataclass(frozen=True)
class KilledRun:
    id: str
    model: str
    started_at: float
    pid: int | None


def killed_runs(conn: sqlite3.Connection, repo: str, alive: Callable[[int], bool]) -> list[KilledRun]:
    """Runs of `repo` left `running` by a process that is gone, and runs already marked `killed`
    (by `agent log` elsewhere, or by a refused recovery) whose journal still has open edits."""
    rows = conn.execute(
        "SELECT id, model, started_at, pid, status FROM runs WHERE repo = ?"
        " AND ((status = 'running' AND pid IS NOT NULL) OR (status = 'killed' AND EXISTS"
        " (SELECT 1 FROM run_edits e WHERE e.run_id = runs.id AND e.state = 'landing')))"
        " ORDER BY started_at, id", (repo,)).fetchall()
    return [KilledRun(row["id"], row["model"], row["started_at"], row["pid"]) for row in rows
            if row["status"] == "killed" or not alive(row["pid"])]


def close_killed_run(conn: sqlite3.Connection, run_id: str, outcomes: dict[str, str], sha: str | None,
                     commits: int = 0) -> None:
    """One transaction: each path's open journal rows get their final state (`sha`: the commit that
    holds the `recovered` ones), the run is `killed`, and `commits` more count among its commits."""
    with transaction(conn):
        conn.executemany(
            "UPDATE run_edits SET state = ?, commit_sha = COALESCE(?, commit_sha) WHERE run_id = ? AND path = ?"
            " AND state = 'landing'",
            [(state, sha if state == "recovered" else None, run_id, path) for path, state in outcomes.items()])
        conn.execute(
            "UPDATE runs SET status = 'killed', finished_at = COALESCE(finished_at, ?), commits = commits + ?"
            " WHERE id = ? AND status IN ('running', 'killed')", (time.time(), commits, run_id))
