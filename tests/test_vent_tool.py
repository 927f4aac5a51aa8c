"""The vent tool: rate limits, attached context, redaction, and a replayed run that vents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from once import __version__
from once.events import Event, ToolCall, ToolResult, VentFiled
from once.store import open_store
from once.tools import tools_for_mode
from once.vent.service import make_venter
from once.vent.store import VentStore
from once.vent.tool import CATEGORIES, RateLimit, RunInfo, Venter, recent_context
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block

FAKE_KEY = "sk-ant-api03-" + "a" * 40


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "once.db"
    open_store(str(path)).close()  # migrated
    return path


def venter_for(db: Path, emitted: list[Event], limit: RateLimit | None = None) -> Venter:
    venter = make_venter(db, RunInfo(run_id="r-test", session_id="s-test", model="claude-test"), emitted.append,
                         None)
    if limit is not None:
        venter.limit = limit
    return venter


def start_turn(venter: Venter, turn: int, use_id: str = "", name: str = "vent") -> None:
    venter.observe(ToolCall(run_id="r-test", turn=turn, tool_use_id=use_id or f"u{turn}", name=name, input={}))


def stored(db: Path) -> list:
    with open_store(str(db)) as store:
        return VentStore(store.conn).reports()


def test_one_report_per_turn_and_three_per_run(db):
    emitted: list[Event] = []
    venter = venter_for(db, emitted)
    answers = []
    for turn in (1, 1, 2, 3, 4):
        start_turn(venter, turn, use_id=f"u{len(answers)}")
        answers.append(venter.vent("broken_behavior", f"run_command hangs on turn {turn}", "run_command"))
    assert [a.text.startswith("Report not filed") for a in answers] == [False, True, False, False, True]
    assert "already filed this turn" in answers[1].text
    assert "already filed 3 reports" in answers[4].text
    assert not any(a.is_error for a in answers)
    vents = [e for e in emitted if isinstance(e, VentFiled)]
    assert [v.filed for v in vents] == [True, False, True, True, False]
    assert all(v.report_id for v in vents if v.filed) and not any(v.report_id for v in vents if not v.filed)
    assert len(stored(db)) == 3


def test_limits_are_configurable():
    limit = RateLimit(per_turn=2, per_run=2)
    assert limit.refusal(1) is None
    limit.record(1)
    assert limit.refusal(1) is None
    limit.record(1)
    assert "2 reports" in (limit.refusal(2) or "")


def test_bad_category_and_empty_message_are_errors_and_not_counted(db):
    emitted: list[Event] = []
    venter = venter_for(db, emitted)
    start_turn(venter, 1)
    assert venter.vent("grumpy", "x").is_error
    assert venter.vent("other", "   ").is_error
    assert not venter.vent("other", "the docs for search are empty").is_error
    assert len(stored(db)) == 1 and set(CATEGORIES) >= {"missing_tool", "environment_limit"}


def test_context_is_attached_and_secrets_are_redacted_in_message_and_context(db):
    emitted: list[Event] = []
    venter = venter_for(db, emitted)
    venter.observe(ToolCall(run_id="r-test", turn=1, tool_use_id="a", name="run_command",
                            input={"command": f"curl -H 'x-api-key: {FAKE_KEY}' http://127.0.0.1"}))
    venter.observe(ToolResult(run_id="r-test", turn=1, tool_use_id="a", name="run_command", is_error=True,
                              output=f"error: key {FAKE_KEY} rejected by the sandbox", duration_ms=1.0))
    start_turn(venter, 2)
    answer = venter.vent("environment_limit", f"the sandbox rejects my key {FAKE_KEY} on every call", "run_command")
    assert "filed" in answer.text and not answer.is_error
    [report] = stored(db)
    blob = json.dumps(report.to_dict())
    assert FAKE_KEY not in blob and "[REDACTED" in report.message
    assert report.model == "claude-test" and report.tool_version == __version__ and report.run_id == "r-test"
    [call] = report.context["recent_tool_calls"]
    assert call["tool"] == "run_command" and call["is_error"] and "rejected by the sandbox" in call["error"]
    assert "[REDACTED" in call["error"] and "[REDACTED" in call["input"]
    event = [e for e in emitted if isinstance(e, VentFiled)][0]
    assert FAKE_KEY not in event.message


def test_recent_context_keeps_the_last_two_turns_and_leaves_out_vent_itself():
    events = []
    for turn in (1, 2, 3):
        events.append(ToolCall(run_id="r", turn=turn, tool_use_id=f"c{turn}", name="read_file",
                               input={"path": f"f{turn}.py"}).to_dict())
        events.append(ToolResult(run_id="r", turn=turn, tool_use_id=f"c{turn}", name="read_file",
                                 is_error=turn == 3, output="x" * 1000 if turn == 3 else "fine",
                                 duration_ms=1.0).to_dict())
    events.append(ToolCall(run_id="r", turn=3, tool_use_id="v", name="vent", input={}).to_dict())
    calls = recent_context(events, turn=3)
    assert [c["turn"] for c in calls] == [2, 3]
    assert "error" not in calls[0] and calls[1]["error"].startswith("x" * 400) and "more characters" in calls[1]["error"]


def test_vent_is_offered_in_agent_and_plan_mode():
    venter = Venter(RunInfo(run_id="r"), file_report=lambda report: None, emit=lambda event: None)
    from once.vent.tool import vent_tool

    for mode in ("agent", "plan"):
        names = [t.name for t in tools_for_mode(mode, always=[vent_tool(venter)])]
        assert names[-1] == "vent"
    assert "write_file" not in [t.name for t in tools_for_mode("plan", always=[vent_tool(venter)])]


@pytest.mark.parametrize("command", ["run", "plan"])
def test_replayed_run_that_vents_stores_a_report_and_an_event(cli, repo, tmp_path, command):
    responses = [
        message([tool_use_block("t1", "search", {"pattern": "(unclosed"})]),
        message([text_block("The search tool rejects my pattern."),
                 tool_use_block("t2", "vent", {"category": "unclear_tool", "tool": "search",
                                               "message": "search gives no hint of the regex dialect it expects"}),
                 tool_use_block("t3", "vent", {"category": "other", "message": "and a second one this turn"})]),
        message("Done." if command == "run" else "## Overview\nNothing to do.\n"),
    ]
    cassette = write_cassette(tmp_path / "c.json", responses)
    db = tmp_path / "once.db"
    result = cli(command, "--replay", str(cassette), "--db", str(db), "-o", "stream-json", "find the bug", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    vents = [e for e in events if e["type"] == "vent"]
    assert [v["filed"] for v in vents] == [True, False]
    results = {e["tool_use_id"]: e for e in events if e["type"] == "tool_result"}
    assert "filed" in results["t2"]["output"] and results["t3"]["output"].startswith("Report not filed")
    [report] = stored(db)
    assert report.id == vents[0]["report_id"] and report.tool == "search" and report.category == "unclear_tool"
    assert report.run_id == vents[0]["run_id"]
    assert [c["tool"] for c in report.context["recent_tool_calls"]] == ["search"]
    with open_store(str(db)) as store:  # the event is in the run's log too
        logged = [e for e in store.run_events(report.run_id) if e["type"] == "vent"]
    assert len(logged) == 2
    shown = cli("log", report.run_id, "--db", str(db), cwd=repo).stdout
    assert f"vent   unclear_tool filed {report.id}" in shown and "not filed (rate limit)" in shown
