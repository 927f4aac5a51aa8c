"""`agent eval run`: every task x arm x repeat, `jobs` at a time, each result stored as it ends."""

from __future__ import annotations

import json
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from once.atomic import atomic_write_text
from once.evals.arms import Arm
from once.evals.outcome import classify
from once.evals.report import build_report
from once.evals.results import add_result, finish_eval, start_eval
from once.evals.runner import RunSetup, TaskRun, interrupt_running, run_task
from once.evals.task import Task
from once.store import Store

Progress = Callable[[TaskRun, int, int], None]
"""Called after each task run with (run, how many ended, how many in all)."""


@dataclass
class EvalPlan:
    eval_id: str
    suite: str
    tasks: Sequence[Task]
    arms: Sequence[Arm]
    repeat: int
    jobs: int
    setup: RunSetup


def run_events(runs_db: Path, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The logged events of these agent runs (the eval's own database)."""
    if not run_ids or not runs_db.exists():
        return []
    with Store(runs_db) as store:
        return [event for run_id in run_ids for event in store.run_events(run_id)]


def run_suite(plan: EvalPlan, store: Store, *, progress: Progress | None = None,
              stop: threading.Event | None = None, kind: str = "run",
              started: Callable[[str], None] | None = None) -> tuple[list[TaskRun], dict[str, Any]]:
    """Run the plan; Ctrl-C stops the running agents and starts no more (`stop` only starts no more)."""
    stop = stop or threading.Event()
    work = [(task, arm, repeat) for repeat in range(1, plan.repeat + 1) for task in plan.tasks for arm in plan.arms]
    start_eval(store.conn, plan.eval_id, kind=kind, suite=plan.suite, folder=str(plan.setup.out),
               arms=[arm.to_json() for arm in plan.arms], repeat=plan.repeat)
    runs: list[TaskRun] = []
    status = "done"
    try:
        _drive(plan, work, store, runs, stop, progress, started)
    except KeyboardInterrupt:
        stop.set()
        status = "stopped"
    if stop.is_set():
        status = "stopped"
    report = build_report(runs, [arm.name for arm in plan.arms])
    report.update({"eval_id": plan.eval_id, "suite": plan.suite, "status": status, "repeat": plan.repeat,
                   "folder": str(plan.setup.out), "arm_settings": [arm.to_json() for arm in plan.arms],
                   "runs": [run.to_json() for run in runs]})
    finish_eval(store.conn, plan.eval_id, status=status, report=report)
    # Beside the cassettes, so the folder alone can be back-tested (committed, copied to CI).
    atomic_write_text(plan.setup.out / "report.json", json.dumps(report, indent=1) + "\n")
    return runs, report


def _drive(plan: EvalPlan, work: list[tuple[Task, Arm, int]], store: Store, runs: list[TaskRun],
           stop: threading.Event, progress: Progress | None, started: Callable[[str], None] | None) -> None:
    pending = list(reversed(work))
    with ThreadPoolExecutor(max_workers=max(1, plan.jobs)) as pool:
        running: dict[Future[TaskRun], Task] = {}
        try:
            while pending or running:
                while pending and len(running) < plan.jobs and not stop.is_set():
                    task, arm, repeat = pending.pop()
                    if started is not None:
                        started(f"{task.name} [{arm.name} #{repeat}]")
                    running[pool.submit(run_task, task, arm, repeat, plan.setup, stopped=stop.is_set)] = task
                if not running:
                    break
                done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    task = running.pop(future)
                    run = future.result()
                    run.kind = classify(run, run_events(Path(run.db), run.run_ids), token_limit=task.limits.tokens)
                    add_result(store.conn, plan.eval_id, run)
                    runs.append(run)
                    if progress is not None:
                        progress(run, len(runs), len(work))
        except KeyboardInterrupt:
            stop.set()
            interrupt_running()  # runs cut short are not recorded as results
            raise
