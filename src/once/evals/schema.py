"""Tables of `agent eval` (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m008_evals(conn: sqlite3.Connection) -> None:
    # One row per `agent eval run` (or back-test); `folder` holds its cassettes and the
    # database its agent runs logged to, `report` the whole JSON report once it ended.
    conn.execute(
        """CREATE TABLE eval_runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('run', 'replay', 'learning')),
            suite TEXT NOT NULL,
            folder TEXT NOT NULL,
            arms TEXT NOT NULL DEFAULT '[]',
            repeat INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'stopped')),
            started_at REAL NOT NULL,
            finished_at REAL,
            report TEXT
        )"""
    )
    # One row per task run: which task, arm and repeat, whether its check passed, and why not.
    conn.execute(
        """CREATE TABLE eval_results (
            id INTEGER PRIMARY KEY,
            eval_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
            task TEXT NOT NULL,
            arm TEXT NOT NULL,
            repeat INTEGER NOT NULL,
            passed INTEGER NOT NULL,
            kind TEXT NOT NULL,
            turns INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            seconds REAL NOT NULL,
            run_ids TEXT NOT NULL DEFAULT '[]',
            detail TEXT NOT NULL DEFAULT '{}',
            UNIQUE (eval_id, task, arm, repeat)
        )"""
    )
    conn.execute("CREATE INDEX eval_results_task ON eval_results (task, arm)")
