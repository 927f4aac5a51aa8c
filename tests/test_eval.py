"""`agent eval`: task loading, suite runs with replayed models (pass, fail, loop, crash, timeout),
paired arms, results in the database, and back-tests that catch a changed prompt."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from once.errors import UsageError
from once.evals.arms import Arm, base_arm, parse_arm, parse_arms
from once.evals.outcome import classify
from once.evals.runner import RunSetup, Step, StepResult, TaskRun, parse_step, run_task, steps_for
from once.evals.stats import paired_difference, wilson
from once.evals.task import load_suite, load_task
from tests.conftest import git
from tests.eval_fixtures import (
    fix_add_responses, hanging_responses, looping_responses, write_cassettes, write_task, wrong_fix_responses,
)
from tests.fakes.anthropic_server import message, text_block, tool_use_block

CRASH = [message([tool_use_block("t1", "run_command", {"command": "kill -9 $PPID"})]), message([text_block("x")])]


# ---------------------------------------------------------------- task files


@pytest.mark.parametrize("toml, expected", [
    ('check = "true"\n', "give `prompt`"),
    ('prompt = "a"\nprompts = ["b"]\ncheck = "true"\n', "exactly one"),
    ('prompt = "a"\n', "`check` must be a non-empty string"),
    ('prompt = "a"\ncheck = "true"\ncolour = 1\n', "unknown key 'colour'"),
    ('prompt = "a"\ncheck = "true"\n[limits]\nturns = 0\n', "`limits.turns` must be a positive number"),
    ('prompt = "a"\ncheck = "true"\n[limits]\nturns = true\n', "`limits.turns` must be a positive number"),
    ('prompt = "a"\ncheck = "true"\n[limits]\nspeed = 3\n', "unknown key `limits.speed`"),
    ('prompt = "a"\ncheck = "true"\n[agent]\nmode = "yolo"\n', "`agent.mode` must be one of"),
    ('prompt = "a"\ncheck = "true"\n[repo]\npath = "../.."\n', "points outside the task folder"),
    ('prompt = "a"\ncheck = "true"\n[repo]\nbundle = "x.bundle"\n', "does not exist"),
    ('prompt = "a"\ncheck = "true"\ntags = "python"\n', "`tags` must be a list"),
    ('prompt = "a"\ncheck = "true"\n[family]\nname = "f"\norder = 0\ncorrection = "c"\n', "`family.order`"),
    ('prompt = "a\ncheck = "true"\n', "not valid TOML"),
])
def test_a_bad_task_file_is_a_clear_usage_error(tmp_path: Path, toml: str, expected: str) -> None:
    folder = tmp_path / "task-one"
    (folder / "repo").mkdir(parents=True)
    (folder / "task.toml").write_text(toml)
    with pytest.raises(UsageError) as caught:
        load_task(folder)
    assert expected in caught.value.message
    assert "task.toml" in caught.value.message or "task-one" in caught.value.message


def test_a_task_folder_needs_a_starting_repository_and_a_good_name(tmp_path: Path) -> None:
    folder = tmp_path / "no-repo"
    folder.mkdir()
    (folder / "task.toml").write_text('prompt = "a"\ncheck = "true"\n')
    with pytest.raises(UsageError, match="is not a folder"):
        load_task(folder)
    bad = tmp_path / "Bad Name"
    (bad / "repo").mkdir(parents=True)
    (bad / "task.toml").write_text('prompt = "a"\ncheck = "true"\n')
    with pytest.raises(UsageError, match="lowercase"):
        load_task(bad)


def test_a_suite_is_filtered_by_name_and_tag_and_says_what_is_missing(tmp_path: Path) -> None:
    write_task(tmp_path, "one")
    write_task(tmp_path, "two")
    assert [t.name for t in load_suite(tmp_path)] == ["one", "two"]
    assert [t.name for t in load_suite(tmp_path, only=["two"])] == ["two"]
    assert [t.name for t in load_suite(tmp_path / "one")] == ["one"]
    with pytest.raises(UsageError, match="no task named 'three'"):
        load_suite(tmp_path, only=["three"])
    with pytest.raises(UsageError, match="no task in .* is tagged rust"):
        load_suite(tmp_path, tags=["rust"])
    with pytest.raises(UsageError, match="no suite folder"):
        load_suite(tmp_path / "nowhere")


def test_plan_then_execute_and_conversations_become_their_steps(tmp_path: Path) -> None:
    write_task(tmp_path, "plan", extra='[agent]\nmode = "plan-then-execute"\n')
    task = load_task(tmp_path / "plan")
    assert [(s.command, s.continue_) for s in steps_for(task)] == [("plan", False), ("approve", True)]
    folder = write_task(tmp_path, "talk")
    (folder / "task.toml").write_text('prompts = ["first", "second"]\ncheck = "true"\n')
    assert [(s.command, s.prompt, s.continue_) for s in steps_for(load_task(folder))] == [
        ("run", "first", False), ("run", "second", True)]


def test_a_bundle_at_a_commit_is_the_starting_repository(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    (source / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "first")
    first = git(source, "rev-parse", "HEAD").strip()
    (source / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(source, "commit", "-qam", "second")
    folder = write_task(tmp_path / "suite", "bundled", files={},
                        extra=f'[repo]\nbundle = "repo.bundle"\nrev = "{first}"\n')
    git(source, "bundle", "create", str(folder / "repo.bundle"), "--all")
    task = load_task(folder)
    run = run_task(task, Arm("a", {"provider": "replay"}, write_cassettes(tmp_path / "c", {
        "bundled": [message([text_block("Nothing to do.")])] * 2})), 1,
        RunSetup(out=tmp_path / "out"))
    # The bundle's first commit, not its newest one: the hidden test of add fails there.
    assert run.check_passed is False and run.steps[0].status == "incomplete"


# ---------------------------------------------------------------- arms


def test_arms_layer_over_the_flags_and_check_their_keys(tmp_path: Path) -> None:
    base = base_arm({"provider": "openai", "model": "m1", "base_url": "http://127.0.0.1:1/v1", "replay": None})
    big = parse_arm("big=model=m2,max_turns=20", base)
    assert big.settings == {"provider": "openai", "model": "m2", "base_url": "http://127.0.0.1:1/v1",
                            "max_turns": "20"}
    assert big.env()["ONCE_MODEL"] == "m2" and big.env()["ONCE_MAX_TURNS"] == "20"
    (tmp_path / "lean.toml").write_text('model = "m3"\n[verify]\nwhen = "end"\n')
    lean = parse_arm(f"lean={tmp_path / 'lean.toml'}", base)
    assert lean.settings["model"] == "m3" and lean.settings["verify.when"] == "end"
    for spec, problem in [("big", "NAME=key=value"), ("b=colour=red", "unknown setting 'colour'"),
                          ("b=max_turns=zero", "max_turns"), ("b=replay=/nowhere", "not a folder of cassettes"),
                          ("b c=model=x", "letters, digits")]:
        with pytest.raises(UsageError, match=problem):
            parse_arm(spec, base)
    with pytest.raises(UsageError, match="two arms are named 'a'"):
        parse_arms(["a=model=x", "a=model=y"], base)


# ---------------------------------------------------------------- outcomes


def _run(*steps: StepResult, passed: bool = False, timed_out: bool = False) -> TaskRun:
    return TaskRun("t", "a", 1, steps=list(steps), check_passed=passed, timed_out=timed_out)


def _step(status: str, exit_code: int | None = 0, error_kind: str = "") -> StepResult:
    return StepResult(Step("run", "p", False), exit_code, status, error_kind=error_kind)


def test_failure_kinds_follow_their_precedence() -> None:
    loop = [{"type": "tool_call", "tool_use_id": f"t{i}", "name": "read_file", "input": {"path": "x"}, "run_id": "r"}
            for i in range(4)]
    loop = [e for i, call in enumerate(loop) for e in (call, {
        "type": "tool_result", "tool_use_id": f"t{i}", "is_error": True, "output": "no such file", "run_id": "r"})]
    assert classify(_run(_step("max_turns"), passed=True), loop) == "pass"
    assert classify(_run(_step("timeout", None), timed_out=True), []) == "timeout"
    assert classify(_run(_step("crash", -9)), []) == "crash"
    assert classify(_run(_step("error", 3, "ModelOutputError")), []) == "bad_tool_call"
    assert classify(_run(_step("error", 3, "CassetteError")), []) == "provider"
    assert classify(_run(_step("done")), loop) == "loop"
    assert classify(_run(_step("max_turns")), []) == "max_turns"
    assert classify(_run(_step("done")), []) == "check_failed"
    over = _run(_step("done"))
    over.steps[0].input_tokens = 5000
    assert classify(over, [], token_limit=1000) == "tokens"
    malformed = [{"type": "tool_result", "is_error": True, "output": "Unknown tool 'x'. Available tools: a."}] * 3
    assert classify(_run(_step("done")), malformed) == "bad_tool_call"


def test_a_step_is_read_from_the_agent_json_or_its_absence() -> None:
    step = Step("run", "p", False)
    ok = json.dumps({"run_id": "r-1", "status": "done", "turns": 2, "result": "ok",
                     "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                               "cache_creation_input_tokens": 0, "cost_usd": 0.5}})
    read = parse_step(step, 0, ok, "")
    assert (read.status, read.run_id, read.turns, read.input_tokens, read.output_tokens, read.cost_usd) == (
        "done", "r-1", 2, 110, 5, 0.5)
    assert parse_step(step, 1, "", "error: internal error: boom").status == "crash"
    assert parse_step(step, None, ok, "").status == "timeout"
    error = json.dumps({"status": "error", "error": {"kind": "CassetteError", "message": "exhausted"}})
    assert (parse_step(step, 3, error, "").status, parse_step(step, 3, error, "").error_kind) == (
        "error", "CassetteError")


def test_intervals_hold_at_the_edges_and_pairs_are_by_task() -> None:
    none, all_ = wilson(0, 10), wilson(10, 10)
    assert none.low == 0 and 0.2 < none.high < 0.35 and all_.high == 1 and 0.65 < all_.low < 0.8
    assert wilson(0, 0).total == 0
    better = paired_difference("a", "b", {"t1": 1, "t2": 1, "t3": 1, "t4": 0.5}, {"t1": 0, "t2": 0, "t3": 1, "t4": 0})
    assert better.tasks == 4 and better.difference == pytest.approx(0.625)
    assert better.a_better == 3 and better.b_better == 0 and 0 < better.low <= better.difference <= better.high
    same = paired_difference("a", "b", {"t1": 1, "t2": 0}, {"t1": 0, "t2": 1})
    assert same.difference == 0 and same.low < 0 < same.high
    assert paired_difference("a", "b", {"x": 1}, {"y": 1}).tasks == 0


# ---------------------------------------------------------------- whole suites


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    write_task(root, "fix-add")
    write_task(root, "wrong-fix")
    write_task(root, "loops")
    write_task(root, "crashes", extra='[agent]\nallow = ["kill*"]\n')
    write_task(root, "hangs", extra='[limits]\ntime = 4\n[agent]\nallow = ["sleep*"]\n')
    return root


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    return write_cassettes(tmp_path / "cassettes", {
        "fix-add": fix_add_responses(), "wrong-fix": wrong_fix_responses(), "loops": looping_responses(),
        "crashes": CRASH, "hangs": hanging_responses()})


def test_a_suite_run_reports_each_kind_and_stores_it(cli, suite: Path, cassettes: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCE_SANDBOX", "off")  # `crashes` kills the agent through $PPID, which a sandbox prevents
    db = tmp_path / "once.db"
    out = tmp_path / "out"
    result = cli("eval", "run", str(suite), "--replay", str(cassettes), "-j", "2", "--out", str(out),
                 "--db", str(db), "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    kinds = {row["task"]: (row["default"]["passed"], sorted(row["default"]["kinds"])) for row in report["tasks"]}
    assert kinds == {"fix-add": (1, []), "wrong-fix": (0, ["check_failed"]), "loops": (0, ["loop"]),
                     "crashes": (0, ["crash"]), "hangs": (0, ["timeout"])}
    total = report["totals"]["default"]
    assert (total["passed"], total["total"]) == (1, 5) and total["low"] < 0.2 < total["high"]
    hung = next(run for run in report["runs"] if run["task"] == "hangs")
    assert hung["seconds"] < 4 + 15, "the time limit stops the agent (SIGTERM, then SIGKILL)"
    # Recorded: a cassette per step, the runs' events in the eval's own database, the results in the user's.
    fixed = next(run for run in report["runs"] if run["task"] == "fix-add")
    recorded = json.loads(Path(fixed["steps"][0]["cassette"]).read_text())
    assert len(recorded["responses"]) == 3 and len(recorded["requests"]) == 3
    assert recorded["requests"][1]["new"][0].startswith("tool_result: ")
    log = cli("log", fixed["steps"][0]["run_id"], "--db", fixed["db"])
    assert fixed["db"] == str(out / "runs" / "fix-add.default.1" / "runs.db")
    assert log.code == 0 and "edit_file" in log.stdout
    shown = cli("eval", "show", "--db", str(db), "--json").json()
    assert shown["eval_id"] == report["eval_id"] and shown["totals"] == report["totals"]
    listed = cli("eval", "list", "--db", str(db)).stdout
    assert report["eval_id"] in listed and "passed 1/5" in listed
    # Nothing of the runs is left in the temp folder.
    assert not list(Path(fixed["steps"][0]["cassette"]).parents[3].glob("once-eval-*"))


def test_two_arms_are_compared_task_by_task(cli, tmp_path: Path) -> None:
    root = tmp_path / "suite"
    for name in ("t1", "t2", "t3"):
        write_task(root, name)
    good = write_cassettes(tmp_path / "good", {name: fix_add_responses() for name in ("t1", "t2", "t3")})
    bad = write_cassettes(tmp_path / "bad", {"t1": wrong_fix_responses(), "t2": wrong_fix_responses(),
                                             "t3": fix_add_responses()})
    result = cli("eval", "run", str(root), "--provider", "replay", "--arm", f"good=replay={good}",
                 "--arm", f"bad=replay={bad}", "-j", "3", "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "o"))
    assert result.code == 0, result.stderr
    assert "good: passed 3/3" in result.stdout and "bad: passed 1/3" in result.stdout
    assert "good - bad: +67% pass rate, paired over 3 tasks" in result.stdout
    assert "good better on 2, bad on 0" in result.stdout


def test_bad_input_to_eval_run_is_a_usage_error(cli, suite: Path, tmp_path: Path) -> None:
    assert cli("eval", "run", str(tmp_path / "none")).code == 2
    result = cli("eval", "run", str(suite), "--arm", "oops")
    assert result.code == 2 and "NAME=key=value" in result.stderr
    assert cli("eval", "show", "nope", "--db", str(tmp_path / "x.db")).code == 2
    assert cli("eval", "replay", "--db", str(tmp_path / "x.db")).code == 2


# ---------------------------------------------------------------- back-testing


def test_replay_matches_a_recording_then_catches_a_changed_prompt_and_a_changed_file(
        cli, tmp_path: Path) -> None:
    root = tmp_path / "suite"
    folder = write_task(root, "fix-add", files={"calc.py": "def add(a, b):\n    return a - b\n",
                                               "AGENTS.md": "Keep functions small.\n"})
    cassettes = write_cassettes(tmp_path / "c", {"fix-add": fix_add_responses()})
    db = str(tmp_path / "once.db")
    first = cli("eval", "run", str(root), "--replay", str(cassettes), "--db", db, "--out", str(tmp_path / "o"))
    assert first.code == 0, first.stderr
    same = cli("eval", "replay", "--db", db, "--json")
    assert same.code == 0, same.stdout + same.stderr
    assert same.json()["same"] == 1 and same.json()["diverged"] == 0
    # A changed instruction file changes the system prompt the model would see.
    (folder / "repo" / "AGENTS.md").write_text("Keep functions small. Always answer in French.\n")
    changed = cli("eval", "replay", "--db", db)
    assert changed.code == 1
    assert "prompt (step 1, model call 1): the system prompt changed" in changed.stdout
    assert "+Always answer in French." in changed.stdout or "French" in changed.stdout
    # A changed file changes what a tool showed the model, and then the edit fails.
    (folder / "repo" / "AGENTS.md").write_text("Keep functions small.\n")
    (folder / "repo" / "calc.py").write_text("def add(a, b):\n    return b - a\n")
    moved = cli("eval", "replay", "--db", db, "--json").json()
    kinds = [d["kind"] for d in moved["runs"][0]["divergences"]]
    assert kinds[0] == "observation" and "outcome" in kinds


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_the_running_agents_and_reports_what_ended(tmp_path: Path, how: str) -> None:
    import os
    import signal
    import sys
    import threading
    import time

    root = tmp_path / "suite"
    write_task(root, "fix-add")
    write_task(root, "hangs", extra='[limits]\ntime = 120\n[agent]\nallow = ["sleep*"]\n')
    cassettes = write_cassettes(tmp_path / "c", {"fix-add": fix_add_responses(), "hangs": hanging_responses()})
    env = {**os.environ, "ONCE_DB": str(tmp_path / "x.db")}
    proc = subprocess.Popen([sys.executable, "-m", "once", "eval", "run", str(root), "--replay", str(cassettes),
                             "-j", "2", "--out", str(tmp_path / "o")], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    hanging = tmp_path / "o" / "runs" / "hangs.default.1" / "step-1.json"
    deadline = time.monotonic() + 120  # a busy machine is slow, so wait for what matters, not a fixed time
    while time.monotonic() < deadline and not (hanging.exists() and any("] fix-add" in line for line in lines[:])):
        time.sleep(0.2)  # the other task ends meanwhile; the hanging one sleeps on
    started = time.monotonic()
    proc.send_signal(getattr(signal, how))
    proc.wait(timeout=60)
    out = proc.stdout.read()  # the report is small: it cannot fill the pipe and block the exit
    reader.join(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    err = "".join(lines)
    assert time.monotonic() - started < 30, "the hanging agent was stopped, not waited for"
    assert proc.returncode == 1, err
    assert "stopped early" in out
    table = out.split("default:")[0]
    assert "fix-add" in table and "hangs" not in table, "a run cut short is not a result"


def test_checks_that_cannot_run_here_are_named_before_anything_runs(tmp_path: Path) -> None:
    from once.evals.task import missing_tools

    no_pytest = tmp_path / "python-without-pytest"
    no_pytest.write_text("#!/bin/sh\nexit 1\n")
    no_pytest.chmod(0o755)
    write_task(tmp_path / "s", "py")
    write_task(tmp_path / "s", "js", check="node --test hidden.mjs")
    tasks = load_suite(tmp_path / "s")
    problems = missing_tools(tasks, python=str(no_pytest))
    assert len(problems) == 1 and "1 task checks run pytest" in problems[0] and "pip install pytest" in problems[0]
    import shutil

    expected = [] if shutil.which("node") else ["1 task checks run node, which is not installed"]
    assert [p.split(" (")[0] for p in missing_tools(tasks)] == expected


def test_an_eval_folder_is_back_tested_on_its_own_wherever_it_was_moved(cli, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "suite"
    write_task(root, "fix-add")
    cassettes = write_cassettes(tmp_path / "c", {"fix-add": fix_add_responses()})
    ran = cli("eval", "run", str(root), "--replay", str(cassettes), "--db", str(tmp_path / "a.db"),
              "--out", str(tmp_path / "recorded"))
    assert ran.code == 0, ran.stderr
    moved = tmp_path / "committed" / "eval"
    shutil.copytree(tmp_path / "recorded", moved)
    shutil.rmtree(tmp_path / "recorded")
    replay = cli("eval", "replay", str(moved), "--suite", str(root), "--db", str(tmp_path / "fresh.db"), "--json")
    assert replay.code == 0, replay.stdout + replay.stderr
    assert replay.json()["same"] == 1 and replay.json()["unrecorded"] == 0
    assert cli("eval", "replay", str(tmp_path / "nothing-here"), "--db", str(tmp_path / "fresh.db")).code == 2


def test_an_arm_can_run_another_install_of_the_agent(cli, tmp_path: Path) -> None:
    """Two prompt versions are two installs: here the "other" one is this agent, read-only."""
    import sys

    other = tmp_path / "other-agent"
    other.write_text(f'#!/bin/sh\nONCE_PERMISSION_MODE=plan exec "{sys.executable}" -m once "$@"\n')
    other.chmod(0o755)
    root = tmp_path / "suite"
    write_task(root, "fix-add")
    cassettes = write_cassettes(tmp_path / "c", {"fix-add": fix_add_responses()})
    result = cli("eval", "run", str(root), "--replay", str(cassettes), "--arm", "this=max_turns=12",
                 "--arm", f"other=agent={other}", "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "o"),
                 "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["totals"]["this"]["passed"] == 1 and report["totals"]["other"]["passed"] == 0
    assert report["arm_settings"][1]["agent"] == str(other.resolve())
    assert cli("eval", "run", str(root), "--arm", "x=agent=/no/such/agent").code == 2


def test_a_run_cut_at_the_time_limit_while_the_model_thought_replays_as_recorded(cli, tmp_path: Path) -> None:
    import time

    from tests.fakes.openai_server import FakeOpenAIServer, completion, tool_call

    def slow_second_answer(request):
        if len(request.body["messages"]) > 2:
            time.sleep(8)  # the task's limit (4 s) stops the agent while it waits
        return completion(None, [tool_call("read_file", {"path": "calc.py"}, id="call_1")])

    root = tmp_path / "suite"
    write_task(root, "slow", extra="[limits]\ntime = 4\n")
    db = str(tmp_path / "x.db")
    with FakeOpenAIServer([], fallback=slow_second_answer) as server:
        ran = cli("eval", "run", str(root), "--provider", "openai", "--base-url", server.base_url, "-m", "fake",
                  "--db", db, "--out", str(tmp_path / "o"), "--json")
    assert ran.code == 0, ran.stderr
    assert ran.json()["runs"][0]["kind"] == "timeout"
    replay = cli("eval", "replay", "--db", db, "--json")
    assert replay.code == 0, replay.stdout
    assert replay.json()["same"] == 1
