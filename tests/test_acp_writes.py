"""`agent acp` writing through the editor: a client that offers `fs/write_text_file` gets every
write of a turn and saves it, and the commit holds what it saved; a write it refuses, or one it
keeps in its buffer only, puts the turn's files back, and nothing is committed.

The real server runs as a subprocess, driven by the ACP SDK's own client side.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, text_block
from acp.schema import AgentThoughtChunk, ClientCapabilities, FileSystemCapabilities, ToolCallProgress
from acp.schema import WriteTextFileResponse

from once.store import open_store
from tests.conftest import SAMPLE_FILES, git, write_cassette
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_acp_e2e import EditorClient, assert_conforms, messages_text, spawn, within

UTIL_AFTER = SAMPLE_FILES["util.py"].replace("return 1", "return 2")
CLI_AFTER = SAMPLE_FILES["cli.py"].replace("parser.parse_args()", "parser.parse_args()  # parsed")


class SavingEditor(EditorClient):
    """An editor that takes writes: its buffer gets the text and is saved to disk (unless it
    only keeps buffers), except for a file it refuses to write."""

    def __init__(self, refuse: str | None = None, saves: bool = True) -> None:
        super().__init__({})
        self.refuse = refuse
        self.saves = saves

    async def write_text_file(self, content: str, path: str, session_id: str,
                              **kwargs: Any) -> WriteTextFileResponse:
        self.writes.append((path, content))
        if self.refuse and path.endswith(self.refuse):
            raise RequestError.internal_error({"details": "the buffer is read-only"})
        self.buffers[path] = content
        if self.saves:
            Path(path).write_text(content)
        return WriteTextFileResponse()


def edits_then_read() -> list[dict[str, Any]]:
    """Two edits in one model turn, then a read of the first file; the last answer is for a run
    whose edits did not land, which the loop asks once more to make the change."""
    return [
        message([
            tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"}),
            tool_use_block("e2", "edit_file", {"path": "cli.py", "old_string": "parser.parse_args()",
                                               "new_string": "parser.parse_args()  # parsed"}),
        ]),
        message([tool_use_block("r1", "read_file", {"path": "util.py"})]),
        message("Both files are edited."),
        message("The editor did not take the edits; nothing changed."),
    ]


async def prompt_once(repo: Path, tmp_path: Path, client: SavingEditor) -> dict[str, Any]:
    seen: dict[str, Any] = {"wire": []}
    with open(tmp_path / "server.log", "wb") as log:
        replay = write_cassette(tmp_path / "c.json", edits_then_read())
        async with spawn(repo, tmp_path, replay, client, log, seen["wire"]) as (conn, _proc):
            await within(conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=True, write_text_file=True))))
            seen["sid"] = (await within(conn.new_session(cwd=str(repo), mcp_servers=[]))).session_id
            seen["answer"] = await within(conn.prompt(session_id=seen["sid"], prompt=[text_block("return 2")]))
    seen["updates"] = client.taken()
    return seen


def read_result(updates: list[Any]) -> str:
    done = next(u for u in updates if isinstance(u, ToolCallProgress) and u.tool_call_id == "r1")
    return done.content[0].content.text


def conversation(tmp_path: Path, session_id: str) -> str:
    """Everything the model was sent in the session, as one string."""
    with open_store(str(tmp_path / "db")) as store:
        return repr(store.session_messages(session_id))


def test_edits_are_written_through_the_editor_and_committed(repo, tmp_path):
    client = SavingEditor()
    seen = asyncio.run(prompt_once(repo, tmp_path, client))

    root = os.path.realpath(repo)
    assert client.writes == [(f"{root}/util.py", UTIL_AFTER), (f"{root}/cli.py", CLI_AFTER)]
    assert seen["answer"].stop_reason == "end_turn"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["cli.py", "util.py"]
    assert git(repo, "show", "HEAD:util.py") == UTIL_AFTER and git(repo, "show", "HEAD:cli.py") == CLI_AFTER
    assert git(repo, "status", "--porcelain") == ""
    assert "return 2" in read_result(seen["updates"])  # the agent reads what it wrote
    assert_conforms(seen["wire"], covering={"WriteTextFileRequest", "ReadTextFileRequest", "PromptResponse"})


def test_a_refused_write_puts_the_first_file_back_and_nothing_is_committed(repo, tmp_path):
    head = git(repo, "rev-parse", "HEAD")
    client = SavingEditor(refuse="cli.py")
    seen = asyncio.run(prompt_once(repo, tmp_path, client))

    root = os.path.realpath(repo)
    assert client.writes == [(f"{root}/util.py", UTIL_AFTER), (f"{root}/cli.py", CLI_AFTER),
                             (f"{root}/util.py", SAMPLE_FILES["util.py"])]  # put back through the editor
    assert seen["answer"].stop_reason == "end_turn"
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    warning = messages_text(seen["updates"], AgentThoughtChunk)
    assert "could not be written (cli.py: the editor did not write it (Internal error: " in warning
    assert "the buffer is read-only" in warning
    assert "the files written before it were put back); none of them landed." in warning
    assert "return 1" in read_result(seen["updates"])
    assert "none of them landed" in conversation(tmp_path, seen["sid"])  # the model is told


def test_an_editor_that_does_not_save_lands_nothing_and_says_so(repo, tmp_path):
    head = git(repo, "rev-parse", "HEAD")
    client = SavingEditor(saves=False)
    seen = asyncio.run(prompt_once(repo, tmp_path, client))

    root = os.path.realpath(repo)
    assert client.writes == [(f"{root}/util.py", UTIL_AFTER), (f"{root}/util.py", SAMPLE_FILES["util.py"])]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    told = conversation(tmp_path, seen["sid"])
    assert "util.py: the editor took the write, but the file on disk does not hold it" in told
