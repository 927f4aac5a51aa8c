"""Streaming into the app: many small deltas, coalesced into few widget updates, nothing lost or reordered."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.providers.replay import ReplayProvider
from once.tui.app import OnceApp
from once.tui.widgets.answer import FENCE, SPLIT_LINES, AnswerView
from once.tui.widgets.conversation import Conversation, ToolLine, UserPrompt
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block
from tests.test_tui import backend_for, settle, submit

pytestmark = pytest.mark.anyio

INTRO = "Let me read **cli.py** first.\n\nIt is the entry point."
FINAL = "".join(
    f"## Part {i}\n\nParagraph {i} explains `thing_{i}` in a few words, then a few more.\n\n"
    f"- item {i}.a\n- item {i}.b\n\n"
    + ("```python\ndef f():\n\n    return 1\n```\n\n" if i % 3 == 0 else "")
    + f"Closing words for part {i}.\n\n"
    for i in range(40)
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Trickle(ReplayProvider):
    """Replays a cassette, streaming each response's text a few characters at a time, like a model.

    With `gate`, the last response stops halfway until the gate opens."""

    def __init__(self, path: Path, size: int = 3, gate: threading.Event | None = None) -> None:
        super().__init__(path)
        self.size, self.gate = size, gate
        self.deltas: list[str] = []

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        last = self.position == len(self.responses) - 1
        response = super().complete(request, None)
        text = response.text
        for start in range(0, len(text), self.size):
            if self.gate is not None and last and start == len(text) // 2 // self.size * self.size:
                assert self.gate.wait(10)
            delta = text[start:start + self.size]
            self.deltas.append(delta)
            if on_text is not None:
                on_text(delta)
            time.sleep(0.0002)  # a model's pace, compressed: the UI gets to run between deltas
        return response


def streaming_app(repo: Path, tmp_path: Path, gate: threading.Event | None = None) -> tuple[OnceApp, Trickle]:
    responses = [message([text_block(INTRO), tool_use_block("t1", "read_file", {"path": "cli.py"})]),
                 message(FINAL)]
    backend = backend_for(repo, tmp_path, [])
    backend.provider = provider = Trickle(write_cassette(tmp_path / "t.json", responses), gate=gate)
    return OnceApp(backend), provider


def shown_in_order(conversation: Conversation) -> list[tuple[str, str]]:
    """The conversation's items top to bottom; consecutive answer views (one long answer) joined."""
    items: list[tuple[str, str]] = []
    for child in conversation.children:
        if isinstance(child, AnswerView):
            if items and items[-1][0] == "answer":
                items[-1] = ("answer", items[-1][1] + child.source)
            else:
                items.append(("answer", child.source))
        elif isinstance(child, ToolLine):
            items.append(("tool", child.call.name))
        elif isinstance(child, UserPrompt):
            items.append(("prompt", str(child.content)))
    return items


async def test_many_small_deltas_arrive_whole_in_order_in_few_updates(repo, tmp_path):
    app, provider = streaming_app(repo, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "explain cli.py")
        await settle(pilot)
        conversation = app.query_one(Conversation)
        expected = [("prompt", "› explain cli.py"), ("answer", INTRO), ("tool", "read_file"), ("answer", FINAL)]
        for _ in range(250):  # a loaded machine may still be drawing the last frames' text
            if shown_in_order(conversation) == expected:
                break
            await pilot.pause(0.02)
        assert shown_in_order(conversation) == [("prompt", "› explain cli.py"), ("answer", INTRO),
                                                ("tool", "read_file"), ("answer", FINAL)]
        assert "".join(provider.deltas) == INTRO + FINAL and len(provider.deltas) > 1500
        views = list(app.query(AnswerView))
        updates = sum(view.appends for view in views)
        assert 0 < updates <= len(provider.deltas) / 10, (updates, len(provider.deltas))
        assert not any(view.pending for view in views)


async def test_a_long_answer_spans_views_split_between_blocks_only(repo, tmp_path):
    app, _ = streaming_app(repo, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "explain cli.py")
        await settle(pilot)
        views = list(app.query(AnswerView))[1:]  # the intro is one view; the long answer the rest
        assert len(views) >= FINAL.count("\n") // (SPLIT_LINES + 20)
        assert "".join(view.source for view in views) == FINAL
        for view in views[1:]:  # each later view starts a paragraph, after a blank line, outside code
            assert view.source[0] not in " -#`\n" and views[views.index(view) - 1].source.endswith("\n\n")
        assert all(len(FENCE.findall(view.source)) % 2 == 0 for view in views)


async def test_the_conversation_follows_the_answer_unless_scrolled_up(repo, tmp_path):
    gate = threading.Event()
    app, _ = streaming_app(repo, tmp_path, gate=gate)
    async with app.run_test(size=(120, 40)) as pilot:
        conversation = app.query_one(Conversation)
        await submit(pilot, "explain cli.py")
        for _ in range(200):  # half the answer is in: the view overflows and follows it
            await pilot.pause(0.02)
            if conversation.max_scroll_y > 20 and not any(view.pending for view in app.query(AnswerView)):
                break
        await pilot.pause(0.1)
        assert conversation.max_scroll_y > 20 and conversation.scroll_y == conversation.max_scroll_y
        conversation.scroll_to(y=5, animate=False, immediate=True)  # the user scrolls up to read
        height = conversation.virtual_size.height
        gate.set()
        await settle(pilot)
        await pilot.pause(0.1)
        assert conversation.virtual_size.height > height  # the rest came in below...
        assert conversation.scroll_y == 5  # ...and the view stayed where the user put it
        conversation.scroll_end(animate=False, immediate=True)  # back at the bottom: following again
        app.query_one(Conversation).add_text("\n\nOne more line.\n\nAnd another.")
        await settle(pilot)
        await pilot.pause(0.1)
        assert conversation.scroll_y == conversation.max_scroll_y
        assert "And another." in app.query(AnswerView).last().source


def test_the_adapter_coalesces_deltas_and_never_lets_text_overtake_an_event() -> None:
    from once.events import ToolCall
    from once.tui.adapter import RunAdapter
    from once.tui.messages import TextDelta

    posted: list[Any] = []
    adapter = RunAdapter(posted.append)
    for delta in ("a", "b", "c"):
        adapter.text(delta)  # the UI has not read the first message yet: the others join it
    adapter(ToolCall(run_id="r", turn=1, tool_use_id="t", name="read_file", input={}))
    adapter.text("d")  # after the event: a message of its own, after the event's
    adapter.text("e")
    assert [type(m).__name__ for m in posted] == ["TextDelta", "AgentEvent", "TextDelta"]
    assert posted[0].take() == "abc" and posted[2].take() == "de"
    adapter.text("f")  # the UI took "de": "f" comes in a new message
    assert len(posted) == 4 and isinstance(posted[3], TextDelta) and posted[3].take() == "f"
    assert posted[2].take() == ""  # a message's text is read once


async def test_each_model_response_starts_an_answer_of_its_own(repo, tmp_path):
    """Two responses with no tool call between them (a continuation) are two blocks, not one run-on line."""
    from once.events import ModelResponse as ResponseEvent
    from once.tui.adapter import RunAdapter

    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        adapter = RunAdapter(app.post_message)
        adapter.text("Left util.py as it is.")
        adapter(ResponseEvent(run_id="r", turn=1, model="m", stop_reason="max_tokens", text="Left util.py as it is.",
                              tool_calls=0, usage={}, cost_usd=0.0, duration_ms=1.0))
        adapter.text("helper still returns 2.")
        expected = ["Left util.py as it is.", "helper still returns 2."]
        for _ in range(100):  # a view shows its text a frame after it is mounted
            if [view.source for view in app.query(AnswerView)] == expected:
                break
            await pilot.pause(0.02)
        assert [view.source for view in app.query(AnswerView)] == expected
