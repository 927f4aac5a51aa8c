"""`agent eval` against the lane's real model: the lane's task suite, with success asserted on
the tasks the model measurably does, and every task's result printed for the record.

MEASURED holds, per lane model, the tasks it passed in every run at greedy decoding (seed 42,
temperature 0) when this list was last measured; the others run and are reported, so a change
that makes the model do more shows here before it is asserted. With the lane's default model,
the 1.5B, two tasks of `builtin` are asserted too (BUILTIN).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realmodel.conftest import MODEL_KEY, RealServer, seconds_left

pytestmark = pytest.mark.realmodel

TASKS = Path(__file__).parent / "tasks"
MEASURED = {"0.5b": {"lean": {"docstring"}}, "1.5b": {"lean": set()}}
"""Per lane model and arm, the lane's tasks it passed in every run at temperature 0 (0.5B: docstring, 3
of 3). With the local default (whole files written as text) the 0.5B copies the prompt's example or
describes the change for the rest; with structured tool calls (`edit_format=tools`) it created
notes.txt in earlier runs and then kept editing it, so no task passes every run. The 1.5B's results on
these tasks are reported, not yet asserted; what it passes every run is in BUILTIN."""
ARMS = {"lean": "edit_format=auto,prompt_style=auto"}
BUILTIN = {"1.5b": ("py-add-is-leap", "py-convention-app-error")}
"""Per lane model, tasks of `builtin` it passed in every measured run with the local defaults (the
README's figures); their checks are asserted. The 0.5B passes none of builtin's tasks reliably."""


def run_eval(server: RealServer, suite: str, out: Path, *args: str) -> dict:
    env = {**os.environ, "ONCE_DB": str(out / "once.db")}
    env.pop("ONCE_RAISE_ERRORS", None)
    done = subprocess.run(
        [sys.executable, "-m", "once", "eval", "run", suite, "--provider", "openai", "--base-url",
         server.base_url, "-m", server.model, "--out", str(out / "eval"), "--json", *args],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=max(60.0, seconds_left()))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def print_report(report: dict, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        from once.evals.report import render_text

        print("\n[realmodel] " + render_text(report).replace("\n", "\n[realmodel] "), file=sys.stderr)


@pytest.mark.cost(600)
def test_the_lane_model_passes_the_tasks_it_measurably_can(real_server: RealServer, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    report = run_eval(real_server, str(TASKS), tmp_path,
                      *(f"--arm={name}={settings}" for name, settings in ARMS.items()))
    passed = {arm: {row["task"] for row in report["tasks"] if row[arm]["passed"]} for arm in ARMS}
    print_report(report, capsys)
    measured = MEASURED.get(MODEL_KEY, {})
    for arm, tasks in measured.items():
        assert tasks <= passed[arm], f"{arm}: measured tasks failed: {sorted(tasks - passed[arm])}; " \
                                     f"passed: {sorted(passed[arm])}"
    assert {row["task"] for row in report["tasks"]} == {p.name for p in TASKS.iterdir() if p.is_dir()}
    assert_sound_runs([run for run in report["runs"] if run["task"] in measured.get(run["arm"], set())])


@pytest.mark.cost(600)
def test_the_lane_model_passes_two_builtin_tasks(real_server: RealServer, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tasks = BUILTIN.get(MODEL_KEY)
    if not tasks:
        pytest.skip(f"realmodel: the {MODEL_KEY} model passes none of builtin's tasks reliably "
                    "(ONCE_REALMODEL_MODEL=1.5b runs this test)")
    report = run_eval(real_server, "builtin", tmp_path, *(f"--task={task}" for task in tasks))
    print_report(report, capsys)
    assert sorted(run["task"] for run in report["runs"]) == sorted(tasks)
    failed = [run["task"] for run in report["runs"] if not run["passed"]]
    assert not failed, f"builtin tasks whose hidden checks failed: {failed}"
    assert_sound_runs(report["runs"])


def assert_sound_runs(runs: list[dict]) -> None:
    """Whatever the model did: each run ended and was logged, each tool call got one result,
    and each agent commit has a well-formed subject."""
    from once.store import Store

    for run in runs:
        with Store(Path(run["db"])) as store:
            for run_id in [step["run_id"] for step in run["steps"] if step["run_id"]]:
                events = store.run_events(run_id)
                kinds = [e["type"] for e in events]
                assert kinds[0] == "run_started" and kinds[-1] == "run_finished", kinds
                calls = {e["tool_use_id"] for e in events if e["type"] == "tool_call"}
                assert calls == {e["tool_use_id"] for e in events if e["type"] == "tool_result"}
                for commit in (e for e in events if e["type"] == "commit" and e.get("kind", "agent") == "agent"):
                    assert commit["subject"].startswith("agent: ") and len(commit["subject"]) <= 72, commit
