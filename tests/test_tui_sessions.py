"""Sessions in the app: `--continue` reopens the latest conversation, the picker switches to another,
and the next prompt continues the chosen session."""

from __future__ import annotations

import pytest

from once.tui.app import OnceApp
from once.tui.sessions import conversation
from once.tui.widgets.conversation import ToolLine, UserPrompt
from once.tui.widgets.session_picker import SessionPicker
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_tui import answers, backend_for, settle, submit, wait_for_screen

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def prompts(app: OnceApp) -> list[str]:
    return [str(p.content) for p in app.query(UserPrompt)]


async def record_session(repo, tmp_path, prompt: str, answer: str, name: str) -> str:
    responses = [message([tool_use_block("t1", "read_file", {"path": "util.py"})]), message(answer)]
    app = OnceApp(backend_for(repo, tmp_path / name, responses))
    app.backend.db = tmp_path / "db"
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, prompt)
        await settle(pilot)
    assert app.session_id
    return app.session_id


async def test_continue_reloads_the_latest_conversation_and_the_next_prompt_continues_it(repo, tmp_path):
    (tmp_path / "a").mkdir()
    session = await record_session(repo, tmp_path, "what does helper return?", "It returns **1**.", "a")
    backend = backend_for(repo, tmp_path, [message("Still 1.")])
    app = OnceApp(backend, continue_session=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert prompts(app) == ["› what does helper return?"]
        assert "It returns **1**." in answers(app)
        tool = app.query_one(ToolLine)
        assert tool.title.startswith("read_file util.py") and "return 1" in tool.result.output
        assert app.session_id == session
        await submit(pilot, "and now?")
        await settle(pilot)
        assert app.finished[-1].result.session_id == session
        assert prompts(app) == ["› what does helper return?", "› and now?"]


async def test_continue_with_no_earlier_session_starts_fresh(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []), continue_session=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.session_id is None and prompts(app) == []


async def test_the_session_picker_lists_sessions_and_switching_loads_one(repo, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = await record_session(repo, tmp_path, "first question", "first answer", "a")
    await record_session(repo, tmp_path, "second question", "second answer", "b")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/sessions")
        await wait_for_screen(pilot, SessionPicker)
        lines = [str(option.prompt) for option in app.screen.query_one("OptionList").options]
        assert len(lines) == 2 and "second question" in lines[0] and "first question" in lines[1]
        assert all(" · claude" in line and line.endswith(" · 1 run") for line in lines)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.session_id == first
        assert prompts(app) == ["› first question"]
        assert "first answer" in answers(app) and "second answer" not in answers(app)


def test_conversation_shows_prompts_answers_and_tools_but_not_context_blocks():
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "<file util.py>...</file>"},
                                     {"type": "text", "text": "fix it"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Looking."},
                                          {"type": "tool_use", "id": "t1", "name": "read_file",
                                           "input": {"path": "util.py"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "def helper()",
                                      "is_error": False}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Fixed."}]},
    ]
    shown = conversation(messages, ["fix it"])
    assert [(s.kind, s.text or s.name) for s in shown] == [
        ("prompt", "fix it"), ("text", "Looking."), ("tool", "read_file"), ("text", "Fixed.")]
    assert shown[2].result == "def helper()" and not shown[2].is_error


async def test_a_reopened_session_brings_its_own_totals_durations_and_details_and_clear_empties_them(repo, tmp_path):
    from once.store import open_store
    from once.tui.widgets.details import DetailsPanel
    from once.tui.widgets.status_bar import StatusBar

    (tmp_path / "a").mkdir()
    first = await record_session(repo, tmp_path, "first question", "first answer", "a")
    with open_store(str(tmp_path / "db")) as store:
        runs = store.list_runs(None, session_id=first)
        events = store.run_events(runs[0].id)
    tokens, cost = sum(runs[0].usage.values()), runs[0].cost_usd
    took = next(e["duration_ms"] for e in events if e["type"] == "tool_result")
    app = OnceApp(backend_for(repo, tmp_path, [message("a new session's answer")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "something else")  # a new session with tokens of its own
        await settle(pilot)
        status = app.query_one(StatusBar).status
        assert status.tokens > 0
        newer = app.run_id
        app.open_session(first)
        await pilot.pause()
        assert tokens > 0 and (status.tokens, status.cost) == (tokens, cost)
        assert app.query_one(ToolLine).title == f"read_file util.py ({took:.0f} ms)"
        details = app.query_one(DetailsPanel).lines()
        assert any(line.startswith("✓ read_file util.py") for line in details)
        assert newer and not any(newer in line for line in details)  # the other session's steps are gone
        await submit(pilot, "/clear")
        await pilot.pause()
        assert app.query_one(DetailsPanel).lines() == [] and status.tokens == 0


async def test_a_tool_line_shown_again_without_its_duration_says_none(repo, tmp_path):
    from once.tui.sessions import Shown
    from once.tui.widgets.conversation import Conversation

    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(Conversation).show_items([Shown("tool", tool_use_id="t1", name="read_file",
                                                      input={"path": "a.py"}, result="x")])
        await pilot.pause()
        assert app.query_one(ToolLine).title == "read_file a.py"
