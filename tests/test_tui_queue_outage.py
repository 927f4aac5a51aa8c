"""The app drains its queue through a provider that refuses the key or is overloaded (fake server on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from once.tui.app import OnceApp
from once.tui.backend import build_backend
from once.tui.widgets.conversation import Conversation
from tests.fakes.anthropic_server import FakeAnthropicServer, Status, by_model, main_requests, message
from tests.test_tui_queue import open_queue_tab, queue_key, seed, stored, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def app_for(repo: Path, tmp_path: Path, server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch) -> OnceApp:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    return OnceApp(build_backend(repo, db=tmp_path / "db", provider="anthropic"))


async def start_queue(pilot: Any) -> None:
    """Pause and resume in the Queue tab: a resumed queue starts its first item."""
    await open_queue_tab(pilot)
    await queue_key(pilot, "alt+p")
    await queue_key(pilot, "alt+p")


def notices(app: OnceApp) -> str:
    return "\n".join(str(getattr(w, "content", "")) for w in app.query_one(Conversation).query("*"))


async def test_a_refused_key_pauses_the_queue_with_the_reason_in_the_panel(repo, tmp_path, monkeypatch):
    seed(repo, tmp_path, "first", "second")
    with FakeAnthropicServer([], fallback=Status(401)) as server:
        app = app_for(repo, tmp_path, server, monkeypatch)
        async with app.run_test(size=(140, 40)) as pilot:
            await start_queue(pilot)
            await until(pilot, lambda: len(app.finished) == 1 and not app.running)
            await app.workers.wait_for_complete()
            await pilot.pause()
            state = app.queue.state()
            panel_state = str(app.query_one("#queue-state").content)
            await pilot.pause(0.2)
            assert len(app.finished) == 1  # the second item never started
    assert state.paused and "401" in state.reason
    assert "paused" in panel_state and "refused the credentials" in panel_state
    assert [status for _, status, _ in stored(repo, tmp_path)] == ["queued", "queued"]


async def test_an_overloaded_item_is_tried_again_after_the_retry_after(repo, tmp_path, monkeypatch):
    seed(repo, tmp_path, "first")
    overloaded = Status(529, headers={"retry-after-ms": "200"})
    with FakeAnthropicServer([], fallback=by_model([overloaded] * 3 + [message("ok")])) as server:
        app = app_for(repo, tmp_path, server, monkeypatch)
        async with app.run_test(size=(140, 40)) as pilot:
            await start_queue(pilot)
            await until(pilot, lambda: len(app.finished) == 2 and not app.running, tries=500)
            await app.workers.wait_for_complete()
            await pilot.pause()
            paused = app.queue.paused
        requests = len(main_requests(server))
    assert [ended.prompt for ended in app.finished] == ["first", "first"]
    assert app.finished[0].result is None and app.finished[1].result is not None
    assert requests == 4 and not paused
    assert stored(repo, tmp_path) == [("first", "done", 1)]


async def test_esc_ends_the_wait_and_pauses_the_queue(repo, tmp_path, monkeypatch):
    seed(repo, tmp_path, "first")
    # The SDK's own two retries are quick; the last answer asks for 30 s, which the queue would wait.
    fast = Status(529, headers={"retry-after-ms": "1"})
    slow = Status(529, headers={"retry-after-ms": "30000"})
    with FakeAnthropicServer([], fallback=by_model([fast, fast, slow])) as server:
        app = app_for(repo, tmp_path, server, monkeypatch)
        async with app.run_test(size=(140, 40)) as pilot:
            await start_queue(pilot)
            await until(pilot, lambda: app._queue_retry_timer is not None, tries=500)
            assert "trying it again in 30s" in notices(app)
            app.query_one("#queue-table").blur()
            await pilot.press("escape")
            await pilot.pause()
            waiting, paused = app._queue_retry_timer, app.queue.paused
        requests = len(main_requests(server))
    assert waiting is None and paused and requests == 3
    assert stored(repo, tmp_path) == [("first", "queued", 1)]
