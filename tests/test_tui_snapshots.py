"""SVG snapshots of the app: the main screen, the Details, Queue and Plan tabs, a commit's diff, and an
approval in the conversation (waiting, at 80x24 and 120x40, asking why, and answered).

Each screen is reached by driving the real app from a replay cassette. What differs between
runs by nature (run ids, commit hashes, durations, the temp repository's path) is normalized
before the screenshot, so a snapshot changes only when the layout, styles or wording do.
Update them after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.widgets import Input, Static, TabbedContent, TextArea

from once.tui.app import OnceApp
from once.tui.widgets.commit_view import CommitScreen
from once.tui.widgets.queue_panel import QueuePanel
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_tui import EDIT, backend_for, submit, wait_for_approval, wait_for_screen
from tests.test_tui_plan import PLAN

SIZE = (130, 36)
FIXED_DATE = "2026-01-02T03:04:05+00:00"
VARYING = [
    (re.compile(r"\b([a-z]{1,3})-[0-9a-z]{14}\b"), r"\1-XXXXXXXXXXXXXX"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<sha>"),
    (re.compile(r"\(\d+ ms\)"), "(N ms)"),
]


@pytest.fixture(autouse=True)
def fixed_git_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(name, FIXED_DATE)


def fixed(text: str, tmp_path: Path) -> str:
    text = text.replace(str(tmp_path), "<tmp>")
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def normalize(app: OnceApp, tmp_path: Path) -> None:
    """Rewrite the varying parts of every text widget on the current screen (a diff keeps its highlighting),
    and stop cursors blinking so the frame does not depend on when it was taken."""
    for editor in app.query(Input):
        editor.cursor_blink = False
    for area in app.query(TextArea):
        area.cursor_blink = False
    for widget in app.screen.query(Static):
        content = widget.content
        if isinstance(content, Syntax):
            widget.update(Syntax(fixed(content.code, tmp_path), "diff", theme="ansi_dark", word_wrap=content.word_wrap))
        elif (text := str(content)) != fixed(text, tmp_path):
            widget.update(fixed(text, tmp_path))


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen_when_opened(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    app = OnceApp(backend_for(repo, tmp_path, []))

    async def run_before(pilot: Any) -> None:
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_details_after_an_edit_and_a_commit(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    backend = backend_for(repo, tmp_path, [message([EDIT]), message("Changed **helper** to return `2`.")])
    backend.permission_mode = "auto-edit"

    async def run_before(pilot: Any) -> None:
        await submit(pilot, "make helper return 2")
        await settle(pilot)
        assert "return 2" in (repo / "util.py").read_text()
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(OnceApp(backend), terminal_size=SIZE, run_before=run_before)


def test_commit_diff(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    backend = backend_for(repo, tmp_path, [message([EDIT]), message("done")])
    backend.permission_mode = "auto-edit"

    async def run_before(pilot: Any) -> None:
        await submit(pilot, "make helper return 2")
        await settle(pilot)
        await submit(pilot, "/diff")
        await wait_for_screen(pilot, CommitScreen)
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(OnceApp(backend), terminal_size=SIZE, run_before=run_before)


def test_queue_tab(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    app = OnceApp(backend_for(repo, tmp_path, []))

    async def run_before(pilot: Any) -> None:
        queue = app.queue
        queue.add("add a --verbose flag to cli.py")
        queue.add("write tests for helper", repeat=3)
        queue.add("update the README")
        queue.pause()
        app.query_one(TabbedContent).active = "queue-tab"
        app.query_one(QueuePanel).refresh_items()
        await pilot.pause()
        normalize(app, tmp_path)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_plan_tab_with_a_plan(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    backend = backend_for(repo, tmp_path, [message(PLAN)])

    async def run_before(pilot: Any) -> None:
        await pilot.press("shift+tab", "shift+tab")  # ask -> auto-edit -> Plan
        await submit(pilot, "make helper return 2")
        await settle(pilot)
        assert pilot.app.query_one(TabbedContent).active == "plan-tab"
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(OnceApp(backend), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_an_approval_waiting_in_the_conversation(repo: Path, tmp_path: Path, snap_compare: Any,
                                                 size: tuple[int, int]) -> None:
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))

    async def run_before(pilot: Any) -> None:
        await submit(pilot, "make helper return 2")
        await wait_for_approval(pilot)
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_an_approval_asking_why(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))

    async def run_before(pilot: Any) -> None:
        await submit(pilot, "make helper return 2")
        await wait_for_approval(pilot)
        await pilot.press("n", *"keep 1")
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_an_approval_answered_with_a_reason(repo: Path, tmp_path: Path, snap_compare: Any) -> None:
    run = tool_use_block("c1", "run_command", {"command": "python -c 'print(42)'"})
    app = OnceApp(backend_for(repo, tmp_path, [message([run]), message("Not run, as you asked.")]))

    async def run_before(pilot: Any) -> None:
        await submit(pilot, "print 42")
        await wait_for_approval(pilot)
        await pilot.press("n", *"not now", "enter")
        await settle(pilot)
        normalize(pilot.app, tmp_path)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
