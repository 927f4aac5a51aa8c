"""Back-testing a stored eval: its runs replayed from their own cassettes, then compared."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from once.errors import UsageError
from once.evals.backtest import RunComparison, compare_run, replay_arm
from once.evals.results import add_result, finish_eval, get_eval, latest_eval, start_eval
from once.evals.runner import RunSetup, TaskRun, run_task
from once.evals.task import Task, load_suite


def replay_eval(eval_id: str | None, *, tasks: list[str] | None, jobs: int, suite: str | None, db: Path | None,
                say: Callable[[str], None] | None = None) -> dict[str, Any]:
    from once.ids import new_id
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        wanted = eval_id or latest_eval(store.conn)
        row = get_eval(store.conn, wanted) if wanted else None
        if row is None:
            raise UsageError(f"no eval {eval_id!r}" if eval_id else "no eval to back-test yet",
                             hint="Run one with `agent eval run SUITE`; list them with `agent eval list`.")
        by_name = {t.name: t for t in load_suite(suite or row["suite"])}
        results = [r for r in row["results"] if not tasks or r["task"] in tasks]
        if not results:
            raise UsageError(f"eval {row['id']} has no recorded runs{' of those tasks' if tasks else ''}")
        missing = sorted({r["task"] for r in results} - set(by_name))
        if missing:
            raise UsageError(f"the suite no longer has the task {missing[0]!r}", hint="Give --suite FOLDER.")
        replay_id = new_id("e")
        out = Path(row["folder"]) / "replays" / replay_id
        setup = RunSetup(db=out / "runs.db", out=out)
        settings = {arm["name"]: arm.get("settings", {}) for arm in row["arms"]}
        start_eval(store.conn, replay_id, kind="replay", suite=row["suite"], folder=str(out), arms=row["arms"],
                   repeat=row["repeat"])
        if say:
            say(f"back-testing {len(results)} recorded runs of eval {row['id']} (no model is called)")

        def one(result: dict[str, Any]) -> tuple[TaskRun, RunComparison]:
            original = {**result["detail"], "settings": settings.get(result["arm"], {})}
            return _replay_one(by_name[result["task"]], original, setup)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            replayed = list(pool.map(one, results))
        for run, _ in replayed:  # the database is written from this thread only
            add_result(store.conn, replay_id, run)
        comparisons = [comparison for _, comparison in replayed]
        report = {
            "eval_id": row["id"], "replay_id": replay_id, "runs": [c.to_json() for c in comparisons],
            "same": sum(c.same for c in comparisons), "diverged": sum(not c.same for c in comparisons),
            "unrecorded": sum(1 for r in results if not _has_requests(r["detail"])),
        }
        finish_eval(store.conn, replay_id, status="done", report=report)
    return report


def _replay_one(task: Task, original: dict[str, Any], setup: RunSetup) -> tuple[TaskRun, RunComparison]:
    folder = setup.out / "cassettes" / f"{task.name}.{original['arm']}.{original['repeat']}"
    arm = replay_arm(original, original["steps"], folder)
    run = run_task(task, arm, original["repeat"], setup)
    run.kind = "pass" if run.passed else "replayed"
    return run, compare_run(original, run)


def _has_requests(detail: dict[str, Any]) -> bool:
    import json

    for step in detail.get("steps", []):
        path = step.get("cassette")
        if path and Path(path).exists():
            try:
                return bool(json.loads(Path(path).read_text()).get("requests"))
            except (OSError, ValueError):
                return False
    return False
