"""No "done" without the work: the pure rules, then whole runs replayed from cassettes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from once.agent.completion import RepeatGuard, asks_for_change, claims_change, missing_work
from tests.conftest import git, make_repo, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block


@pytest.mark.parametrize("prompt", [
    "Add a function is_leap to dates.py", "fix the failing test", "Please rename calc_total to compute_total",
    "Can you make parse() return 0 when there are no items?", "return 0 when there are no items",
    "create cli.py with a main() that prints hello",
])
def test_prompts_that_ask_for_a_change(prompt: str) -> None:
    assert asks_for_change(prompt)


@pytest.mark.parametrize("prompt", [
    "What does fix_dates do?", "why is the test failing?", "explain the retry logic", "read util.py",
    "Is it still supported on py3.8?", "hi",
])
def test_prompts_that_do_not(prompt: str) -> None:
    assert not asks_for_change(prompt)


def test_claims_of_a_change() -> None:
    assert claims_change("I added is_leap and ran the tests.")
    assert claims_change("The code has been fixed.")
    assert claims_change("I've now updated dates.py")
    assert not claims_change("The function adds two numbers; nothing needs to change.")
    assert not claims_change("You could add a check here.")


def test_missing_work_only_when_nothing_changed() -> None:
    assert missing_work("Add is_leap", "Done.", changed=True) is None
    assert missing_work("What is this?", "It is a parser.", changed=False) is None
    claimed = missing_work("What is this?", "I fixed it.", changed=False)
    assert claimed is not None and "claims a change" in claimed.reason
    asked = missing_work("Add is_leap to dates.py", "## Find the layout first", changed=False)
    assert asked is not None and "no file was changed" in asked.reason


def test_the_same_result_again_gets_a_hint_then_a_stop_unless_files_changed() -> None:
    guard = RepeatGuard()
    assert guard.observe(["edit_file a.py: identical"], changed=False) == (None, None)
    hint, stop = guard.observe(["edit_file a.py: identical"], changed=False)
    assert hint is not None and "same call 2 times" in hint and stop is None
    hint, stop = guard.observe(["edit_file a.py: identical"], changed=False)
    assert stop is not None and "3 times" in stop
    fresh = RepeatGuard()
    fresh.observe(["k"], changed=False)
    fresh.observe(["k"], changed=False)
    assert fresh.observe(["k"], changed=True) == (None, None), "a change resets the count"


# ---------------------------------------------------------------- whole runs

def run(cli, repo: Path, tmp_path: Path, responses: list, prompt: str, *extra: str):
    cassette = write_cassette(tmp_path / "c.json", responses)
    return cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", *extra, prompt, cwd=repo)


def test_a_run_that_changes_nothing_is_told_once_then_ends_incomplete(cli, repo: Path, tmp_path: Path) -> None:
    result = run(cli, repo, tmp_path, [message("## Find the layout first"), message("## Find the layout first")],
                 "Add a function shout() to util.py")
    assert result.code == 1
    data = result.json()
    assert data["status"] == "incomplete" and data["turns"] == 2
    assert data["result"].endswith("Incomplete: the task asks for a change, but no file was changed.")


def test_told_once_the_model_can_still_do_the_work(cli, repo: Path, tmp_path: Path) -> None:
    edit = message([text_block("Adding it."), tool_use_block("t1", "edit_file", {
        "path": "util.py", "old_string": "return 1\n", "new_string": "return 1\n\n\ndef shout():\n    return 'HI'\n"})],
        stop_reason="tool_use")
    result = run(cli, repo, tmp_path, [message("Sure."), edit, message("Added shout().")],
                 "Add a function shout() to util.py")
    assert result.code == 0 and result.json()["status"] == "done"
    assert "def shout" in (repo / "util.py").read_text()


def test_an_answer_claiming_an_untaken_action_is_incomplete(cli, repo: Path, tmp_path: Path) -> None:
    claim = "I added is_leap and ran python -m pytest: all passed."
    result = run(cli, repo, tmp_path, [message(claim), message(claim)], "What does util.py do?")
    assert result.code == 1 and result.json()["status"] == "incomplete"
    assert "claims a change" in result.json()["result"]


def test_a_question_answered_without_edits_is_done(cli, repo: Path, tmp_path: Path) -> None:
    result = run(cli, repo, tmp_path, [message("It defines helper(), which returns 1.")], "What does util.py do?")
    assert result.code == 0 and result.json()["status"] == "done"


def test_checks_still_failing_at_the_end_is_not_done(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n",
                                      "test_calc.py": "from calc import add\n\n\ndef test_add():\n"
                                                      "    assert add(2, 3) == 5\n"})
    wrong = message([tool_use_block("t1", "edit_file", {"path": "calc.py", "old_string": "a - b",
                                                        "new_string": "a * b"})], stop_reason="tool_use")
    stops = [message(f"Fixed ({i}).") for i in range(6)]
    result = run(cli, repo, tmp_path, [wrong, *stops], "Fix add()", "--max-turns", "8")
    data = result.json()
    assert result.code == 1 and data["status"] == "checks_failed", "root-level test files are found and run"
    assert "Checks: FAILING" in data["result"]


def test_the_same_failing_call_three_times_stops_early(cli, repo: Path, tmp_path: Path) -> None:
    same = [message([tool_use_block(f"t{i}", "edit_file", {"path": "util.py", "old_string": "return 1",
                                                           "new_string": "return 1"})], stop_reason="tool_use")
            for i in range(6)]
    result = run(cli, repo, tmp_path, same, "Make helper return 2", "-o", "stream-json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    results = [e for e in events if e["type"] == "tool_result"]
    finished = events[-1]
    assert result.code == 1 and len(results) == 3, "stopped at the third identical failure, not at max turns"
    assert finished["status"] == "incomplete" and "3 times" in finished["result"]
    requests = [e for e in events if e["type"] == "model_request"]
    assert len(requests) == 3
    assert git(repo, "status", "--porcelain").strip() == ""


def test_write_file_will_not_gut_a_file_unless_asked(cli, tmp_path: Path) -> None:
    body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(8))
    repo = make_repo(tmp_path / "r", {"dates.py": body})
    gut = message([tool_use_block("t1", "write_file", {"path": "dates.py", "content": "def g():\n    return 0\n"})],
                  stop_reason="tool_use")
    rewrite = message([tool_use_block("t2", "write_file", {"path": "dates.py", "content": "X = 1\n",
                                                           "rewrite": True})], stop_reason="tool_use")
    result = run(cli, repo, tmp_path, [gut, rewrite, message("Rewrote dates.py.")], "Replace dates.py with X = 1",
                 "-o", "stream-json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    outputs = [e for e in events if e["type"] == "tool_result"]
    assert outputs[0]["is_error"] and "delete 15 of its 16 lines" in outputs[0]["output"]
    assert "rewrite=true" in outputs[0]["output"]
    assert not outputs[1]["is_error"] and (repo / "dates.py").read_text() == "X = 1\n"


def test_a_model_that_fumbles_tool_calls_may_write_its_edit_as_text(cli, repo: Path, tmp_path: Path) -> None:
    bad = [message([tool_use_block(f"t{i}", "edit", {"file": "util.py"})], stop_reason="tool_use") for i in range(3)]
    whole = message("util.py\n```python\ndef helper():\n    return 2\n```\n")
    result = run(cli, repo, tmp_path, [*bad, whole], "Make helper return 2", "-o", "stream-json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["type"] == "warning" and "malformed tool calls" in e["message"] for e in events)
    assert result.code == 0 and events[-1]["status"] == "done"
    assert (repo / "util.py").read_text() == "def helper():\n    return 2\n"


def test_the_same_reply_three_times_stops_the_run(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n",
                                      "test_calc.py": "from calc import add\n\n\ndef test_add():\n"
                                                      "    assert add(2, 3) == 5\n"})
    monkeypatch.setenv("ONCE_EDIT_FORMAT", "whole")
    wrong = message("calc.py\n```python\ndef add(a, b):\n    return a * b\n```\n")
    result = run(cli, repo, tmp_path, [wrong] * 6, "Fix add()", "-o", "stream-json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.code == 1 and events[-1]["status"] == "incomplete"
    assert "same reply 3 times" in events[-1]["result"]
    assert len([e for e in events if e["type"] == "model_request"]) == 3
