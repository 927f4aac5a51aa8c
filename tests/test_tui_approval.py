"""The inline approval on its own: what "a" offers for each kind of request, and its record line."""

from __future__ import annotations

import pytest
from textual import on
from textual.app import App, ComposeResult

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.tui.widgets.approval import ApprovalPrompt, choices, record
from tests.test_tui import shown

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Host(App[None]):
    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self.answers: list[Answer] = []

    def compose(self) -> ComposeResult:
        yield ApprovalPrompt(self.request)

    def on_mount(self) -> None:
        self.query_one(ApprovalPrompt).focus()

    @on(ApprovalPrompt.Answered)
    def answered(self, message: ApprovalPrompt.Answered) -> None:
        self.answers.append(message.answer)


async def until_armed(pilot) -> None:
    while not pilot.app.query_one(ApprovalPrompt).armed:
        await pilot.pause(0.05)


async def test_keys_typed_as_it_appears_answer_nothing():
    """A "y" typed into the prompt the moment an approval pops up must not allow the edit."""
    app = Host(ApprovalRequest("edit", "util.py", "-a\n+b\n"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("y", "a")
        assert app.answers == [] and app.query_one(ApprovalPrompt).pending
        await until_armed(pilot)
        await pilot.press("y")
        assert app.answers == [Answer(Decision.allow_once)]


async def test_a_command_with_nothing_to_allow_always_offers_no_a_and_ignores_it():
    request = ApprovalRequest("command", "sudo make install", "needs a person every time", ())
    assert [key for key, _ in choices(request)] == ["y", "n"]
    app = Host(request)
    async with app.run_test(size=(80, 24)) as pilot:
        await until_armed(pilot)
        await pilot.press("a")
        assert app.answers == [] and app.query_one(ApprovalPrompt).pending
        await pilot.press("y")
        assert app.answers == [Answer(Decision.allow_once)]
        assert shown(app.query_one(ApprovalPrompt)) == ["✓ allowed once"]
        await pilot.press("n")  # answered: the keys do nothing more
        assert app.answers == [Answer(Decision.allow_once)]


async def test_a_mcp_tool_and_a_server_say_what_a_covers():
    tool = ApprovalRequest("tool", "mcp__docs__write", "args", ("mcp__docs__write",))
    assert ("a", "allow for this session: calls to mcp__docs__write, until you quit the app or change the mode") in (
        choices(tool))
    server = ApprovalRequest("mcp_server", "docs", "This repository's config starts an MCP server: docs")
    assert ("a", "allow always: starting docs in this repository from now on (trusted in your user config)") in (
        choices(server))
    assert record(server, Answer(Decision.allow_always)) == (
        "✓ allowed always: starting docs in this repository from now on (trusted in your user config)")
    assert record(server, Answer(Decision.allow_once)) == "✓ allowed once (MCP server docs)"
    commands = ApprovalRequest("command", "make test && make lint", "why", ("make test", "make lint"))
    assert record(commands, Answer(Decision.allow_always)) == (
        "✓ allowed for this session: exactly `make test`; `make lint`, until you quit the app or change the mode")
    assert record(commands, Answer(Decision.reject, "not now")) == "✗ rejected: not now"
