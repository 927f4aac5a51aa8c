"""Plan mode writes .once/plan.md and nothing else; approve carries a plan out step by step."""

from __future__ import annotations

import json
from pathlib import Path

from once.agent.plan import PLAN_SECTIONS, normalize_plan, parse_steps
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block

PLAN_ANSWER = """## Overview
Add a --verbose flag.

## Key decisions and assumptions
Use argparse's store_true.

## Steps
1. Add the flag to `cli.py`.
2. Document it in README.md.

## Risks
None.

## Open questions
Should -v be an alias?
"""


def cassette(tmp_path: Path, *responses: dict, name: str = "c.json") -> str:
    return str(write_cassette(tmp_path / name, list(responses)))


def test_plan_writes_the_plan_and_touches_nothing_else(cli, repo, tmp_path, isolated_env):
    responses = [
        message([tool_use_block("t1", "read_file", {"path": "cli.py"}),
                 tool_use_block("t2", "write_file", {"path": "cli.py", "content": "oops"}),
                 tool_use_block("t3", "run_command", {"command": "touch x"})]),
        message(PLAN_ANSWER),
    ]
    result = cli("plan", "--replay", cassette(tmp_path, *responses), "--db", str(tmp_path / "db"), "-o", "stream-json",
                 "add a verbose flag", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    outcomes = {e["tool_use_id"]: e for e in events if e["type"] == "tool_result"}
    assert not outcomes["t1"]["is_error"]
    assert outcomes["t2"]["is_error"] and "Unknown tool 'write_file'" in outcomes["t2"]["output"]
    assert outcomes["t3"]["is_error"]
    assert git(repo, "status", "--porcelain", "--untracked-files=all").splitlines() == ["?? .once/plan.md"]
    plan = (repo / ".once" / "plan.md").read_text()
    headings = [line[3:] for line in plan.splitlines() if line.startswith("## ")]
    assert headings == list(PLAN_SECTIONS)
    assert "Should -v be an alias?" in plan and "_Not given._" in plan  # "Components" was left out
    finished = [e for e in events if e["type"] == "run_finished"][0]
    copies = list((isolated_env / ".local" / "share" / "once" / "plans").glob("*.md"))
    assert [c.stem for c in copies] == [finished["run_id"]] and copies[0].read_text() == plan


def test_run_mode_plan_is_the_same_as_agent_plan(cli, repo, tmp_path):
    result = cli("run", "--mode", "plan", "--replay", cassette(tmp_path, message(PLAN_ANSWER)), "--db",
                 str(tmp_path / "db"), "-o", "json", "plan it", cwd=repo)
    assert result.code == 0
    assert result.json()["plan_path"] == ".once/plan.md" and result.json()["commits"] == []


def test_approve_carries_out_a_hand_edited_plan_step_by_step(cli, repo, tmp_path):
    (repo / ".once").mkdir()
    edited = PLAN_ANSWER.replace("2. Document it in README.md.", "2. Mention it in util.py's docstring.")
    (repo / ".once" / "plan.md").write_text(edited)
    responses = [
        message([tool_use_block("p1", "update_plan", {"step": 1, "status": "started"}),
                 tool_use_block("e1", "edit_file", {"path": "cli.py", "old_string": "    parser.parse_args()",
                                                    "new_string": "    parser.add_argument('--verbose')\n    parser.parse_args()"}),
                 tool_use_block("p2", "update_plan", {"step": 1, "status": "done"})]),
        message([text_block("Document it."),
                 tool_use_block("e2", "edit_file", {"path": "util.py", "old_string": "def helper():",
                                                    "new_string": "def helper():\n    \"\"\"See --verbose.\"\"\""}),
                 tool_use_block("p3", "update_plan", {"step": 2, "status": "done", "note": "docstring"})]),
        message("Both steps done."),
    ]
    result = cli("approve", "--replay", cassette(tmp_path, *responses), "--db", str(tmp_path / "db"),
                 "-o", "stream-json", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    steps = [(e["step"], e["status"]) for e in events if e["type"] == "plan_step"]
    assert steps == [(1, "started"), (1, "done"), (2, "done")]
    assert [e["title"] for e in events if e["type"] == "plan_step"][-1] == "Mention it in util.py's docstring."
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "done"
    assert "--verbose" in (repo / "cli.py").read_text()


def test_a_step_that_cannot_be_done_is_reported_not_skipped(cli, repo, tmp_path):
    plan_file = tmp_path / "my-plan.md"
    plan_file.write_text(PLAN_ANSWER)
    responses = [
        message([tool_use_block("p1", "update_plan", {"step": 1, "status": "done"}),
                 tool_use_block("p2", "update_plan", {"step": 2, "status": "blocked", "note": "no README"}),
                 tool_use_block("p3", "update_plan", {"step": 7, "status": "done"})]),
        message("Step 2 could not be done."),
    ]
    result = cli("run", "--plan", str(plan_file), "--replay", cassette(tmp_path, *responses), "--db",
                 str(tmp_path / "db"), "-o", "json", cwd=repo)
    assert result.code == 1
    data = result.json()
    assert data["status"] == "plan_incomplete"
    assert "step 2 (blocked): Document it in README.md." in data["result"]
    detail = cli("log", "--db", str(tmp_path / "db"), data["run_id"], "--json", cwd=repo).json()
    bad_step = [e for e in detail["events"] if e["type"] == "tool_result" and e["tool_use_id"] == "p3"][0]
    assert bad_step["is_error"] and "no step 7" in bad_step["output"]
    assert [e["status"] for e in detail["events"] if e["type"] == "plan_step"][-1] == "not_done"


def test_approve_without_a_plan_says_how_to_make_one(cli, repo, tmp_path):
    result = cli("approve", "--replay", cassette(tmp_path, message("x")), cwd=repo)
    assert result.code == 2 and "agent plan" in result.stderr


def test_normalize_and_parse_steps():
    text = normalize_plan("Intro words.\n\n## steps\n1. First thing\n   more about it\n2) **Second**\n", "Task")
    assert text.startswith("# Plan: Task")
    assert "Intro words." in text.split("## Key decisions")[0]
    assert [(s.number, s.title) for s in parse_steps(text)] == [(1, "First thing"), (2, "Second")]


def test_a_plan_without_steps_is_refused_before_running(cli, repo, tmp_path):
    plan_file = tmp_path / "p.md"
    plan_file.write_text("## Overview\nJust do it.\n\n## Steps\n_Not given._\n")
    result = cli("run", "--plan", str(plan_file), "--replay", cassette(tmp_path, message("x")), "--db",
                 str(tmp_path / "db"), cwd=repo)
    assert result.code == 2 and "no numbered steps" in result.stderr
