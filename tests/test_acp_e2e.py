"""`agent acp` end to end: the real server as a subprocess, driven by the ACP SDK's own client.

One server answers a prompt that edits two files (asking the client before each edit, reading
through the client's buffers), a prompt cancelled while its command runs, and a plan; a second
server loads the session back.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block
from acp.schema import (
    AgentMessageChunk, AgentPlanUpdate, AllowedOutcome, ClientCapabilities, FileSystemCapabilities,
    ReadTextFileResponse, RequestPermissionResponse, ToolCallProgress, ToolCallStart, UserMessageChunk,
)

from once.paths import eval_data_dir
from once.store import open_store
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, text_block as answer_text, tool_use_block
from tests.test_tui_cancel import STOPPED_WITHIN, marked_pids, sleeper

UNSAVED_README = "# sample\n\nAn unsaved line only the editor has.\n"
PLAN = ("## Overview\nAdd a flag.\n\n## Steps\n1. Add the flag to cli.py\n2. Test the flag\n\n"
        "## Open questions\nNone.\n")
BOUND = 60.0
"""Seconds any one request may take before the test fails instead of hanging."""


class EditorClient:
    """An editor as the SDK's client side sees it: it shows updates, answers questions, holds buffers."""

    def __init__(self, buffers: dict[str, str]) -> None:
        self.buffers = buffers
        self.updates: list[Any] = []
        self.questions: list[Any] = []
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update)

    async def request_permission(self, options: list[Any], session_id: str, tool_call: Any,
                                 **kwargs: Any) -> RequestPermissionResponse:
        self.questions.append(tool_call)
        allow = next(option for option in options if option.kind == "allow_once")
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=allow.option_id))

    async def read_text_file(self, path: str, session_id: str, limit: int | None = None, line: int | None = None,
                             **kwargs: Any) -> ReadTextFileResponse:
        self.reads.append(path)
        return ReadTextFileResponse(content=self.buffers.get(path, Path(path).read_text()))

    async def write_text_file(self, content: str, path: str, session_id: str, **kwargs: Any) -> None:
        self.writes.append((path, content))  # not offered: a call would be the server's mistake
        raise RequestError.method_not_found("fs/write_text_file")

    def taken(self) -> list[Any]:
        """The updates since the last call."""
        taken, self.updates = self.updates, []
        return taken


def messages_text(updates: list[Any], kind: type = AgentMessageChunk) -> str:
    return "".join(u.content.text for u in updates if isinstance(u, kind))


def cassette(path: Path, command: str) -> Path:
    return write_cassette(path, [
        message([tool_use_block("r1", "read_file", {"path": "README.md"})]),
        message([
            tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"}),
            tool_use_block("e2", "edit_file", {"path": "cli.py", "old_string": "parser.parse_args()",
                                               "new_string": "parser.parse_args()  # parsed"}),
        ]),
        message("Both files are edited."),
        message([tool_use_block("c1", "run_command", {"command": command, "timeout": 60})]),
        message([answer_text(PLAN)]),
    ])


Wire = list[tuple[str, dict[str, Any]]]
"""One connection's messages, "incoming" to the client or "outgoing" from it, for the schema check."""


def spawn(repo: Path, tmp_path: Path, replay: Path, client: EditorClient, log: Any, wire: Wire | None = None) -> Any:
    env = {**os.environ, "ONCE_DB": str(tmp_path / "db")}
    keep = [] if wire is None else [lambda event: wire.append((event.direction.value, event.message))]
    return spawn_agent_process(client, sys.executable, "-m", "once", "acp", "--replay", str(replay),
                               "--permission-mode", "ask", cwd=repo, env=env, transport_kwargs={"stderr": log},
                               observers=keep)


async def within(awaitable: Any, seconds: float = BOUND) -> Any:
    return await asyncio.wait_for(awaitable, seconds)


async def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        await asyncio.sleep(0.05)


async def first_server(repo: Path, tmp_path: Path, command: str, marker: str) -> tuple[str, dict[str, Any]]:
    client = EditorClient({str(repo / "README.md"): UNSAVED_README})
    seen: dict[str, Any] = {"wire": []}
    with open(tmp_path / "server1.log", "wb") as log:
        replay = cassette(tmp_path / "c.json", command)
        async with spawn(repo, tmp_path, replay, client, log, seen["wire"]) as (conn, _proc):
            seen["init"] = await within(conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True))))
            new = await within(conn.new_session(cwd=str(repo), mcp_servers=[]))
            seen["modes"] = new.modes
            sid = new.session_id

            seen["edit"] = await within(conn.prompt(session_id=sid, prompt=[text_block("make helper return 2")]))
            seen["edit_updates"], seen["edit_questions"] = client.taken(), list(client.questions)
            seen["reads"], seen["writes"] = list(client.reads), list(client.writes)

            running = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[text_block("run the slow thing")]))
            await wait_for(lambda: marked_pids(marker), 30, "the slow command starting")
            sent = time.monotonic()
            await conn.cancel(session_id=sid)
            seen["cancel"] = await within(running, STOPPED_WITHIN)
            seen["cancel_took"] = time.monotonic() - sent
            seen["cancel_updates"] = client.taken()

            await within(conn.set_session_mode(session_id=sid, mode_id="plan"))
            seen["plan"] = await within(conn.prompt(session_id=sid, prompt=[text_block("plan a --verbose flag")]))
            seen["plan_updates"] = client.taken()
    return sid, seen


async def second_server(repo: Path, tmp_path: Path, sid: str, wire: Wire) -> tuple[Any, list[Any]]:
    client = EditorClient({})
    with open(tmp_path / "server2.log", "wb") as log:
        replay = write_cassette(tmp_path / "none.json", [])
        async with spawn(repo, tmp_path, replay, client, log, wire) as (conn, _proc):
            await within(conn.initialize(protocol_version=PROTOCOL_VERSION))
            loaded = await within(conn.load_session(cwd=str(repo), session_id=sid, mcp_servers=[]))
            return loaded, client.taken()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finding the command's process needs /proc")
def test_an_editor_drives_once_over_acp(repo, tmp_path):
    command, marker = sleeper()
    sid, seen = asyncio.run(first_server(repo, tmp_path, command, marker))

    assert seen["init"].agent_capabilities.load_session is True
    assert seen["modes"].current_mode_id == "ask"
    assert {m.id for m in seen["modes"].available_modes} == {"plan", "ask", "auto-edit"}

    # The edit prompt: one commit with both files, each edit asked of the client first.
    assert seen["edit"].stop_reason == "end_turn"
    assert git(repo, "log", "-1", "--format=%s").startswith("agent:")
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["cli.py", "util.py"]
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    questions = seen["edit_questions"]
    assert [q.tool_call_id for q in questions] == ["e1", "e2"]
    assert "-    return 1" in questions[0].content[0].content.text
    updates = seen["edit_updates"]
    started = {u.tool_call_id: u for u in updates if isinstance(u, ToolCallStart)}
    assert started["e1"].kind == "edit" and started["e1"].locations[0].path == str(repo / "util.py")
    assert started["r1"].kind == "read"
    finished = {u.tool_call_id: u.status for u in updates if isinstance(u, ToolCallProgress)}
    assert finished == {"r1": "completed", "e1": "completed", "e2": "completed"}
    read_result = next(u for u in updates if isinstance(u, ToolCallProgress) and u.tool_call_id == "r1")
    assert "An unsaved line only the editor has." in read_result.content[0].content.text  # the buffer, not the disk
    assert str(repo / "README.md") in seen["reads"]
    assert seen["writes"] == []  # the client does not offer fs/write_text_file: the edits land on disk
    text = messages_text(updates)
    assert "Both files are edited." in text and "Committed" in text

    # The cancelled prompt: stopped while its command ran, the command gone, the cancel on record.
    assert seen["cancel"].stop_reason == "cancelled"
    assert seen["cancel_took"] < STOPPED_WITHIN
    assert marked_pids(marker) == []
    command_end = [u for u in seen["cancel_updates"] if isinstance(u, ToolCallProgress) and u.tool_call_id == "c1"]
    assert command_end and command_end[-1].status == "failed"
    with open_store(str(tmp_path / "db")) as store:
        runs = store.list_runs(None, session_id=sid)
        cancelled = [e for e in store.run_events(runs[1].id) if e["type"] == "cancelled"]
    assert [r.status for r in runs] == ["done", "interrupted", "done"]  # newest first
    assert [c["reason"] for c in cancelled] == ["user"]

    # The plan: its steps become plan entries, the file is written.
    assert seen["plan"].stop_reason == "end_turn"
    plans = [u for u in seen["plan_updates"] if isinstance(u, AgentPlanUpdate)]
    assert [(e.content, e.status) for e in plans[-1].entries] == [
        ("1. Add the flag to cli.py", "pending"), ("2. Test the flag", "pending")]
    assert "Add the flag to cli.py" in (repo / ".once" / "plan.md").read_text()

    # Loading the session in a new server shows the conversation again.
    wire: Wire = []
    loaded, history = asyncio.run(second_server(repo, tmp_path, sid, wire))
    assert loaded.modes.current_mode_id == "ask"
    prompts = [u.content.text for u in history if isinstance(u, UserMessageChunk)]
    assert prompts == ["make helper return 2", "run the slow thing", "plan a --verbose flag"]
    assert "Both files are edited." in messages_text(history)
    replayed = {u.tool_call_id: u for u in history if isinstance(u, ToolCallStart)}
    assert replayed["e1"].status == "completed" and replayed["e1"].kind == "edit"
    assert replayed["c1"].status == "failed"
    assert_conforms(seen["wire"], wire)


SCHEMA_FOR = {"initialize": "InitializeResponse", "session/new": "NewSessionResponse",
              "session/load": "LoadSessionResponse", "session/prompt": "PromptResponse",
              "session/set_mode": "SetSessionModeResponse"}
"""What the server's answer to each request must be (the schema's $defs)."""
REQUEST_SCHEMA = {"session/update": "SessionNotification", "session/request_permission": "RequestPermissionRequest",
                  "fs/read_text_file": "ReadTextFileRequest", "fs/write_text_file": "WriteTextFileRequest"}
EVERY_KIND = {"SessionNotification", "RequestPermissionRequest", "ReadTextFileRequest", "InitializeResponse",
              "NewSessionResponse", "LoadSessionResponse", "PromptResponse", "SetSessionModeResponse"}


def assert_conforms(*wires: Wire, covering: set[str] = EVERY_KIND) -> None:
    """Every message the server sent, checked against the published ACP schema (skipped when the
    data is absent). A response is checked against the answer to the method its request named."""
    folder = eval_data_dir()
    if folder is None or not (folder / "acp" / "schema.json").exists():
        pytest.skip("public evaluation data absent: acp/schema.json (see shared/eval/README.md)")
    import json

    import jsonschema

    schema = json.loads((folder / "acp" / "schema.json").read_text())
    checked = set()
    for wire in wires:
        asked = {m["id"]: m["method"] for direction, m in wire if direction == "outgoing" and "id" in m and "method" in m}
        for direction, sent in wire:
            if direction != "incoming":
                continue
            if "method" in sent:
                name, payload = REQUEST_SCHEMA[sent["method"]], sent["params"]
            else:
                assert "result" in sent, f"the server answered with an error: {sent}"
                name, payload = SCHEMA_FOR[asked[sent["id"]]], sent["result"]
            jsonschema.validate(payload, {**schema, "$ref": f"#/$defs/{name}"})
            checked.add(name)
    assert covering <= checked


def test_loading_an_unknown_session_is_an_error_the_client_sees(repo, tmp_path):
    async def load() -> str:
        with open(tmp_path / "server.log", "wb") as log:
            replay = write_cassette(tmp_path / "none.json", [])
            async with spawn(repo, tmp_path, replay, EditorClient({}), log) as (conn, _proc):
                await within(conn.initialize(protocol_version=PROTOCOL_VERSION))
                with pytest.raises(RequestError) as caught:
                    await within(conn.load_session(cwd=str(repo), session_id="s_nope", mcp_servers=[]))
                return str(caught.value)

    assert "no session 's_nope'" in asyncio.run(load())
