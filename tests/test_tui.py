"""The Textual app driven headlessly with Pilot, from replay cassettes in a temp repo and database."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.widgets import Static

from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.providers.replay import ReplayProvider
from once.tui.app import OnceApp
from once.tui.backend import Backend, build_backend
from once.tui.widgets.approval import ApprovalPrompt
from once.tui.widgets.conversation import AnswerView, Conversation, ToolLine, UserPrompt
from once.tui.widgets.details import DetailsPanel
from once.tui.widgets.prompt_input import PromptHistory, PromptInput
from once.tui.widgets.status_bar import StatusBar
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, tool_use_block

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


EDIT = tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"})


def backend_for(repo: Path, tmp_path: Path, responses: list[dict[str, Any]]) -> Backend:
    cassette = write_cassette(tmp_path / "c.json", responses)
    return build_backend(repo, db=tmp_path / "db", replay=cassette)


async def submit(pilot: Any, text: str) -> None:
    pilot.app.query_one(PromptInput).value = text
    await pilot.press("enter")


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def answers(app: OnceApp) -> str:
    return "\n".join(view.source for view in app.query(AnswerView))


async def wait_for_screen(pilot: Any, kind: type, tries: int = 200) -> None:
    for _ in range(tries):
        if isinstance(pilot.app.screen, kind):
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{kind.__name__} never opened")


async def wait_for_approval(pilot: Any, tries: int = 200) -> ApprovalPrompt:
    """The approval the run waits for, once it is in the conversation with the focus."""
    for _ in range(tries):
        waiting = [approval for approval in pilot.app.query(ApprovalPrompt) if approval.pending]
        if waiting and pilot.app.focused is waiting[-1] and waiting[-1].armed:
            return waiting[-1]
        await pilot.pause(0.02)
    raise AssertionError("no approval took the focus")


def shown(widget: Any) -> list[str]:
    """The texts of the Statics in `widget` (a diff as its source)."""
    texts = [static.content for static in widget.query(Static)]
    return [text.code if isinstance(text, Syntax) else str(text) for text in texts]


async def test_app_mounts_with_its_widgets_and_status(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.query_one(Conversation) and app.query_one(DetailsPanel)
        assert app.focused is app.query_one(PromptInput)
        line = app.query_one(StatusBar).status.render_line()
        assert "ask" in line and "main" in line and "idle" in line


async def test_a_prompt_streams_the_answer_shows_the_tool_line_and_details(repo, tmp_path):
    responses = [message([tool_use_block("t1", "read_file", {"path": "cli.py"})]),
                 message("The CLI parses **arguments** with argparse.")]
    app = OnceApp(backend_for(repo, tmp_path, responses))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "what does cli.py do?")
        await settle(pilot)
        prompts = [str(p.content) for p in app.query(UserPrompt)]
        assert prompts == ["› what does cli.py do?"]
        tool = app.query_one(ToolLine)
        assert tool.title.startswith("read_file cli.py") and tool.collapsed
        assert tool.result is not None and "argparse" in tool.result.output
        assert "parses **arguments**" in answers(app)
        details = app.query_one(DetailsPanel).lines()
        assert any(line.startswith("✓ read_file cli.py (") and "ms)" in line for line in details)
        assert any(line.startswith("run done") for line in details)
        assert app.finished[-1].result is not None and app.finished[-1].result.status == "done"
        status = app.query_one(StatusBar).status
        assert status.tokens > 0 and status.state == "idle"
        tool.collapsed = False  # the compact line expands to input and result
        await pilot.pause()
        assert "cli.py" in str(tool.body.content) and "argparse" in str(tool.body.content)


@pytest.mark.parametrize("keys, lands, said", [(("y",), True, "✓ allowed once"),
                                               (("n", "enter"), False, "✗ rejected (no reason given)")])
async def test_an_edit_in_ask_mode_waits_for_the_approval_in_the_conversation(repo, tmp_path, keys, lands, said):
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))
    head = git(repo, "rev-parse", "HEAD")
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        conversation = app.query_one(Conversation)
        assert approval.parent is conversation and not app.screen.is_modal
        assert conversation.children.index(approval) == conversation.children.index(app.query_one(ToolLine)) + 1
        text = "\n".join(shown(approval))
        assert "Allow this edit to util.py?" in text and "+    return 2" in text  # the diff, above the keys
        assert "allow once" in text and "allow for this session: edits to any file" in text
        assert "return 1" in (repo / "util.py").read_text()  # nothing lands before the answer
        await pilot.press(*keys)
        await settle(pilot)
        assert not approval.pending and approval.said == said
        assert shown(approval) == [said]  # one line is left
        assert app.focused is app.query_one(PromptInput)
        changed = "return 2" in (repo / "util.py").read_text()
        assert changed is lands
        assert (git(repo, "rev-parse", "HEAD") != head) is lands
        details = app.query_one(DetailsPanel).lines()
        decision = "allow_once" if lands else "reject"
        assert any(f"edit {decision}" in line for line in details)
        assert any(line.startswith("● commit") for line in details) is lands


class GatedReplay(ReplayProvider):
    """A cassette whose first response waits until the test opens the gate."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        if self.position == 0:
            assert self.gate.wait(10)
        return super().complete(request, on_text)


async def test_a_prompt_sent_while_running_is_queued_and_runs_after(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.provider = provider = GatedReplay(write_cassette(tmp_path / "g.json",
                                                             [message("first answer"), message("second answer")]))
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "first")
        await pilot.pause()
        await submit(pilot, "second")
        await pilot.pause()
        assert app.running and [i.text for i in app.queue.items(include_finished=False)] == ["second"]
        assert app.query_one(StatusBar).status.queued == 1
        assert "second answer" not in answers(app)
        provider.gate.set()
        for _ in range(200):  # the second run starts only when the first has ended
            await settle(pilot)
            if len(app.finished) == 2:
                break
        assert [ended.prompt for ended in app.finished] == ["first", "second"]
        assert answers(app).index("first answer") < answers(app).index("second answer")
        assert app.queue.pending_count() == 0 and not app.running
        sessions = {ended.result.session_id for ended in app.finished if ended.result}
        assert len(sessions) == 1  # later prompts continue the app's session


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_escape_or_ctrl_c_cancels_a_run_waiting_for_approval_and_nothing_lands(repo, tmp_path, key):
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("never reached")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert approval.said == "✗ not answered: the run was cancelled"
        assert "return 1" in (repo / "util.py").read_text()
        result = app.finished[-1].result
        assert result is not None and result.status == "interrupted"
        assert "never reached" not in answers(app)
        assert not app.running and app.focused is app.query_one(PromptInput)


async def test_input_history_walks_back_and_forward(repo, tmp_path):
    history = PromptHistory()
    for text in ("one", "two", "two"):
        history.add(text)
    assert history.items == ["one", "two"]
    assert [history.back(), history.back(), history.back()] == ["two", "one", "one"]
    assert [history.forward(), history.forward()] == ["two", ""]
    app = OnceApp(backend_for(repo, tmp_path, [message("a"), message("b")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "hello")
        await settle(pilot)
        await pilot.press("up")
        assert app.query_one(PromptInput).value == "hello"
        await pilot.press("down")
        assert app.query_one(PromptInput).value == ""


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
def test_agent_help_does_not_import_textual(anyio_backend):
    import subprocess
    import sys

    code = ("import sys\nfrom once.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "import once.cli.tui_cmd\nassert 'textual' not in sys.modules, 'textual imported'\n")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_the_escape_key_cancels_a_streaming_run(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.provider = provider = GatedReplay(write_cassette(tmp_path / "g.json", [message("too late")]))
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "first")
        await pilot.pause()
        await pilot.press("escape")
        provider.gate.set()
        await settle(pilot)
        result = app.finished[-1].result
        assert result is not None and result.status == "interrupted"
        assert "too late" not in answers(app)
        assert app.query_one(StatusBar).status.state == "idle"


def test_an_unknown_permission_mode_is_a_usage_error(repo, tmp_path):
    from once.errors import UsageError

    with pytest.raises(UsageError, match="permission mode"):
        build_backend(repo, db=tmp_path / "db", replay=write_cassette(tmp_path / "c.json", []),
                      permission_mode="yolo")
