"""Back-testing a stored eval: its runs replayed from their own cassettes, then compared."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from once.errors import UsageError
from once.evals.backtest import RunComparison, compare_run, replay_arm
from once.evals.results import add_result, finish_eval, get_eval, latest_eval, start_eval
from once.evals.runner import RunSetup, TaskRun, run_task
from once.evals.task import Task, load_suite

REPORT_FILE = "report.json"


def replay_eval(eval_ref: str | None, *, tasks: list[str] | None, jobs: int, suite: str | None, db: Path | None,
                say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Replay an eval (an id in the database, or an eval folder with its report.json) and compare."""
    from once.ids import new_id
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        recorded = load_recorded(eval_ref, store.conn)
        by_name = {t.name: t for t in load_suite(suite or recorded["suite"])}
        results = [r for r in recorded["results"] if not tasks or r["task"] in tasks]
        if not results:
            raise UsageError(f"eval {recorded['id']} has no recorded runs{' of those tasks' if tasks else ''}")
        missing = sorted({r["task"] for r in results} - set(by_name))
        if missing:
            raise UsageError(f"the suite no longer has the task {missing[0]!r}", hint="Give --suite FOLDER.")
        replay_id = new_id("e")
        out = Path(recorded["folder"]) / "replays" / replay_id
        setup = RunSetup(out=out)
        settings = {arm["name"]: arm.get("settings", {}) for arm in recorded["arms"]}
        start_eval(store.conn, replay_id, kind="replay", suite=recorded["suite"], folder=str(out),
                   arms=recorded["arms"], repeat=recorded["repeat"])
        if say:
            say(f"back-testing {len(results)} recorded runs of eval {recorded['id']} (no model is called)")

        def one(result: dict[str, Any]) -> tuple[TaskRun, RunComparison]:
            return _replay_one(by_name[result["task"]], {**result, "settings": settings.get(result["arm"], {})}, setup)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            replayed = list(pool.map(one, results))
        for run, _ in replayed:  # the database is written from this thread only
            add_result(store.conn, replay_id, run)
        comparisons = [comparison for _, comparison in replayed]
        report = {
            "eval_id": recorded["id"], "replay_id": replay_id, "runs": [c.to_json() for c in comparisons],
            "same": sum(c.same for c in comparisons), "diverged": sum(not c.same for c in comparisons),
            "unrecorded": sum(1 for r in results if not _has_requests(r)),
        }
        finish_eval(store.conn, replay_id, status="done", report=report)
    return report


def load_recorded(eval_ref: str | None, conn: Any) -> dict[str, Any]:
    """What an eval recorded: from an eval folder (its report.json; portable, e.g. committed
    beside a project's tasks) or from the database by id (the latest run by default)."""
    folder = Path(eval_ref).expanduser() if eval_ref else None
    if folder is not None and (folder / REPORT_FILE).is_file():
        try:
            report = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {folder / REPORT_FILE}: {exc}") from None
        runs = [_rebased(run, folder) for run in report.get("runs", [])]
        return {"id": report.get("eval_id", folder.name), "suite": report["suite"], "folder": str(folder.resolve()),
                "arms": report.get("arm_settings", []), "repeat": report.get("repeat", 1), "results": runs}
    wanted = eval_ref or latest_eval(conn)
    row = get_eval(conn, wanted) if wanted else None
    if row is None:
        raise UsageError(f"no eval {eval_ref!r}" if eval_ref else "no eval to back-test yet",
                         hint="Give an eval id (`agent eval list`) or an eval folder holding report.json.")
    return {"id": row["id"], "suite": row["suite"], "folder": row["folder"], "arms": row["arms"],
            "repeat": row["repeat"], "results": [r["detail"] for r in row["results"]]}


def _rebased(run: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Cassette paths inside the eval folder, wherever it was recorded."""
    steps = []
    for step in run.get("steps", []):
        cassette = step.get("cassette")
        if cassette:
            recorded = Path(cassette)
            step = {**step, "cassette": str(folder / "runs" / recorded.parent.name / recorded.name)}
        steps.append(step)
    return {**run, "steps": steps}


def _replay_one(task: Task, original: dict[str, Any], setup: RunSetup) -> tuple[TaskRun, RunComparison]:
    folder = setup.out / "cassettes" / f"{task.name}.{original['arm']}.{original['repeat']}"
    arm = replay_arm(original, original["steps"], folder)
    run = run_task(task, arm, original["repeat"], setup)
    run.kind = "pass" if run.passed else "replayed"
    return run, compare_run(original, run)


def _has_requests(detail: dict[str, Any]) -> bool:
    for step in detail.get("steps", []):
        path = step.get("cassette")
        if path and Path(path).exists():
            try:
                return bool(json.loads(Path(path).read_text()).get("requests"))
            except (OSError, ValueError):
                return False
    return False
