"""The ACP server's pure parts: events as updates, answers, prompts, modes, and the thread bridge."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from acp import RequestError, text_block
from acp.schema import (
    AgentMessageChunk, AgentPlanUpdate, AgentThoughtChunk, AllowedOutcome, DeniedOutcome, RequestPermissionResponse,
    ResourceContentBlock, EmbeddedResourceContentBlock, TextResourceContents, ToolCallProgress, ToolCallStart,
)

from once.acp.bridge import ClientCallFailed, LoopBridge
from once.acp.files import ClientFiles, ClientWrites, as_on_disk
from once.acp.permissions import ClientApprover, answer_for, permission_tool_call
from once.acp.prompt_text import prompt_text
from once.acp.sessions import available_modes, initial_mode, mode_state, run_modes
from once.acp.updates import UpdateMapper, closing_text, tool_locations, tool_title
from once.agent.approvals import ApprovalRequest, Decision
from once.events import CommitMade, ModelRequest, ModelResponse, PlanStep, ToolCall, ToolResult, WarningEvent
from once.tools.plan_tool import PlanStepItem
from once.tools.workspace import Workspace

ROOT = Path("/work/repo")


def response(text: str) -> ModelResponse:
    return ModelResponse(run_id="r", turn=1, model="m", stop_reason="end_turn", text=text, tool_calls=0, usage={},
                         cost_usd=0.0, duration_ms=1.0)


def test_streamed_text_is_not_sent_twice_but_an_unstreamed_answer_is():
    mapper = UpdateMapper(ROOT)
    mapper.event(ModelRequest(run_id="r", turn=1, model="m", messages=1))
    assert [u.content.text for u in mapper.text("Hel")] == ["Hel"]
    assert mapper.event(response("Hello")) == []
    mapper.event(ModelRequest(run_id="r", turn=2, model="m", messages=3))
    sent = mapper.event(response("Not streamed"))
    assert isinstance(sent[0], AgentMessageChunk) and sent[0].content.text == "Not streamed"
    assert mapper.last_text == "Not streamed"


def test_a_tool_call_starts_with_its_kind_location_and_diff_and_ends_with_its_status():
    mapper = UpdateMapper(ROOT)
    call = ToolCall(run_id="r", turn=1, tool_use_id="t1", name="edit_file",
                    input={"path": "src/a.py", "old_string": "x = 1", "new_string": "x = 2"})
    [start] = mapper.event(call)
    assert isinstance(start, ToolCallStart) and start.kind == "edit" and start.title == "Edit src/a.py"
    assert start.locations[0].path == "/work/repo/src/a.py"
    assert (start.content[0].old_text, start.content[0].new_text) == ("x = 1", "x = 2")
    assert mapper.tool_call_id == "t1"
    [end] = mapper.event(ToolResult(run_id="r", turn=1, tool_use_id="t1", name="edit_file", is_error=True,
                                    output="old_string not found", duration_ms=1.0))
    assert isinstance(end, ToolCallProgress) and end.status == "failed"
    assert "old_string not found" in end.content[0].content.text
    assert mapper.tool_call_id is None


def test_titles_and_locations_for_reads_and_commands():
    assert tool_title("read_file", {"path": "a.py", "offset": 40}) == "Read a.py from line 40"
    assert tool_locations(ROOT, "read_file", {"path": "a.py", "offset": 40})[0].line == 40
    assert tool_title("run_command", {"command": "pytest -q"}) == "Run `pytest -q`"
    assert tool_locations(ROOT, "run_command", {"command": "pytest -q"}) == []
    assert tool_title("some_mcp_tool", {}) == "some_mcp_tool"


def test_plan_steps_become_entries_whose_status_follows_the_run():
    steps = [PlanStepItem(1, "Add the flag"), PlanStepItem(2, "Test it")]
    mapper = UpdateMapper(ROOT, steps)
    [first] = mapper.plan_started()
    assert [e.status for e in first.entries] == ["pending", "pending"]
    mapper.event(PlanStep(run_id="r", step=1, title="Add the flag", status="done"))
    [update] = mapper.event(PlanStep(run_id="r", step=2, title="Test it", status="started"))
    assert isinstance(update, AgentPlanUpdate)
    assert [(e.content, e.status) for e in update.entries] == [("1. Add the flag", "completed"),
                                                               ("2. Test it", "in_progress")]


def test_commits_and_warnings_are_told():
    mapper = UpdateMapper(ROOT)
    [commit] = mapper.event(CommitMade(run_id="r", turn=1, sha="abcdef123456", subject="agent: x", files=["a"]))
    assert "abcdef12 agent: x" in commit.content.text
    [warning] = mapper.event(WarningEvent(run_id="r", message="no sandbox"))
    assert isinstance(warning, AgentThoughtChunk) and "no sandbox" in warning.content.text


def test_closing_text_is_what_the_result_adds_after_the_last_answer():
    assert closing_text("Done.\n\nChecks: 3 passed", "Done.") == "Checks: 3 passed"
    assert closing_text("Done.", "Done.") == ""
    assert closing_text("A plan", "something else") == ""


def test_the_client_answer_becomes_the_gate_answer():
    allowed = RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id="allow_always"))
    assert answer_for(allowed).decision is Decision.allow_always
    cancelled = RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
    assert answer_for(cancelled).decision is Decision.reject
    odd = RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id="maybe"))
    assert answer_for(odd).decision is Decision.reject and "maybe" in answer_for(odd).reason


def test_an_edit_question_shows_the_diff_and_the_file():
    request = ApprovalRequest("edit", "a.py", "--- a/a.py\n+++ b/a.py\n-x\n+y\n")
    tool_call = permission_tool_call(request, "t9", ROOT)
    assert tool_call.tool_call_id == "t9" and tool_call.kind == "edit"
    assert "+y" in tool_call.content[0].content.text and tool_call.locations[0].path == "/work/repo/a.py"


def test_a_cancelled_turn_is_not_asked_about_and_a_question_without_a_tool_call_gets_an_id():
    asked: list[str] = []

    async def ask(tool_call, options):
        asked.append(tool_call.tool_call_id)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id="allow_once"))

    async def scenario() -> tuple[Decision, Decision]:
        cancel = threading.Event()
        approver = ClientApprover(LoopBridge(asyncio.get_running_loop()), ask, ROOT, cancel, lambda: None)
        request = ApprovalRequest("command", "make", "not allowed by policy")
        first = await asyncio.to_thread(approver, request)
        cancel.set()
        second = await asyncio.to_thread(approver, request)
        return first.decision, second.decision

    assert asyncio.run(scenario()) == (Decision.allow_once, Decision.reject)
    assert asked == ["approval-1"]


def test_the_bridge_gives_up_on_cancel_and_reports_a_refusal():
    async def never() -> None:
        await asyncio.sleep(60)

    async def refused() -> None:
        raise RequestError.method_not_found("fs/read_text_file")

    async def scenario() -> None:
        bridge = LoopBridge(asyncio.get_running_loop())
        cancel = threading.Event()
        threading.Timer(0.1, cancel.set).start()
        assert await asyncio.to_thread(bridge.call, never(), cancel) is None
        with pytest.raises(ClientCallFailed):
            await asyncio.to_thread(bridge.call, refused())

    asyncio.run(scenario())


def test_files_are_read_through_the_client_and_keep_their_line_endings(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\r\ntwo\r\n")
    (tmp_path / "b.bin").write_bytes(b"\0\1\2")

    class Answer:
        content = "one\nTWO unsaved\n"

    async def read_text(path: str) -> Answer:
        return Answer()

    async def scenario() -> tuple[bytes, bytes | None, bytes]:
        workspace = Workspace(tmp_path)
        workspace.reader = ClientFiles(LoopBridge(asyncio.get_running_loop()), read_text)
        held = await asyncio.to_thread(workspace.read_bytes, "a.txt")
        binary = await asyncio.to_thread(workspace.reader, tmp_path / "b.bin")
        workspace.stage("a.txt", b"staged")
        return held, binary, workspace.read_bytes("a.txt")

    held, binary, staged = asyncio.run(scenario())
    assert held == b"one\r\nTWO unsaved\r\n"
    assert binary is None  # binary files are never asked for
    assert staged == b"staged"  # the turn's own edit wins over the buffer
    assert as_on_disk("a\nb\n", b"a\nb\n") == b"a\nb\n"


def test_text_is_written_through_the_client_and_anything_else_on_disk(tmp_path):
    sent: list[tuple[str, str]] = []

    async def write_text(path: str, text: str) -> None:
        if path.endswith("locked.txt"):
            raise RequestError.internal_error({"details": "read-only buffer"})
        sent.append((path, text))

    async def scenario() -> None:
        writes = ClientWrites(LoopBridge(asyncio.get_running_loop()), write_text)
        await asyncio.to_thread(writes, tmp_path / "a.txt", "é\r\n".encode())
        await asyncio.to_thread(writes, tmp_path / "b.bin", b"\0\1")
        await asyncio.to_thread(writes, tmp_path / "c.txt", b"\xff latin-1")
        with pytest.raises(OSError, match="the editor did not write it"):
            await asyncio.to_thread(writes, tmp_path / "locked.txt", b"x")

    asyncio.run(scenario())
    assert sent == [(str(tmp_path / "a.txt"), "é\r\n")]  # as it will be on disk
    assert (tmp_path / "b.bin").read_bytes() == b"\0\1"  # the method carries text only
    assert (tmp_path / "c.txt").read_bytes() == b"\xff latin-1"


def test_prompt_blocks_become_one_prompt():
    blocks = [text_block("fix"), ResourceContentBlock(type="resource_link", name="a.py", uri="file:///r/a.py"),
              EmbeddedResourceContentBlock(type="resource", resource=TextResourceContents(uri="file:///r/b.py",
                                                                                         text="x = 1"))]
    assert prompt_text(blocks) == "fix\nfile:///r/a.py\nfile:///r/b.py\n```\nx = 1\n```"


def test_modes_map_to_run_and_permission_modes():
    assert run_modes("plan", executing_plan=False) == ("plan", "plan")
    assert run_modes("plan", executing_plan=True) == ("agent", "ask")
    assert run_modes("auto-edit", executing_plan=False) == ("agent", "auto-edit")
    assert "full-auto" not in available_modes(False) and "full-auto" in available_modes(True)
    assert initial_mode(None) == "ask" and initial_mode("auto-edit") == "auto-edit"
    assert mode_state("plan", False).current_mode_id == "plan"
