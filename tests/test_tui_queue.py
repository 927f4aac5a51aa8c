"""The app's persisted queue with Pilot: prompts queued behind a run, and the Queue tab's controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from once.queue.store import PromptQueue
from once.store import open_store
from once.tui.app import OnceApp
from once.tui.backend import Backend, build_backend
from once.tui.widgets.dialogs import ConfirmScreen
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.queue_panel import QueuePanel
from once.tui.widgets.run_view import RunScreen
from once.tui.widgets.status_bar import StatusBar
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message
from tests.test_tui import GatedReplay

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def backend_for(repo: Path, tmp_path: Path, responses: list[dict[str, Any]]) -> Backend:
    return build_backend(repo, db=tmp_path / "db", replay=write_cassette(tmp_path / "c.json", responses))


def seed(repo: Path, tmp_path: Path, *texts: str) -> None:
    """Items queued before the app opens (by `agent queue add`, say)."""
    with open_store(str(tmp_path / "db")) as store:
        queue = PromptQueue(store.conn, str(repo.resolve()))
        for text in texts:
            queue.add(text)


def stored(repo: Path, tmp_path: Path) -> list[tuple[str, str, int]]:
    """(text, status, repeat) as another process sees the queue."""
    with open_store(str(tmp_path / "db")) as store:
        return [(i.text, i.status, i.repeat) for i in PromptQueue(store.conn, str(repo.resolve())).items()]


async def submit(pilot: Any, text: str) -> None:
    pilot.app.query_one(PromptInput).value = text
    await pilot.press("enter")


async def until(pilot: Any, condition: Any, tries: int = 300) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the app never got there")


async def open_queue_tab(pilot: Any) -> QueuePanel:
    pilot.app.query_one("#side").active = "queue-tab"
    await pilot.pause()
    panel = pilot.app.query_one(QueuePanel)
    panel.query_one("#queue-table").focus()
    await pilot.pause()
    return panel


async def queue_key(pilot: Any, key: str) -> None:
    """A queue action from the keyboard: the list focused, then the key (a modifier one, or delete)."""
    pilot.app.query_one("#queue-table").focus()
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()


def rows(panel: QueuePanel) -> list[str]:
    return [item.text for item in panel.items]


async def test_a_prompt_sent_during_a_run_is_queued_persisted_and_starts_after(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.provider = provider = GatedReplay(write_cassette(tmp_path / "g.json",
                                                             [message("first answer"), message("second answer")]))
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "first")
        await pilot.pause()
        await submit(pilot, "second")
        await pilot.pause()
        assert app.running and app.finished == []
        assert stored(repo, tmp_path) == [("second", "queued", 1)]  # in the database, not in memory
        assert app.query_one(StatusBar).status.queued == 1
        provider.gate.set()
        await until(pilot, lambda: len(app.finished) == 2 and not app.running)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [ended.prompt for ended in app.finished] == ["first", "second"]
        second_run = app.finished[1].result
        assert second_run is not None and second_run.status == "done"
        item = app.queue.items()[0]
        assert item.status == "done" and item.run_id == second_run.run_id  # linked to its run
        assert app.query_one(StatusBar).status.queued == 0
        panel = await open_queue_tab(pilot)
        table = panel.query_one("#queue-table")
        assert table.row_count == 1 and second_run.run_id in str(table.get_row_at(0))
        await pilot.press("enter")  # the item's run, step by step
        await until(pilot, lambda: isinstance(app.screen, RunScreen))
        shown = str(app.screen.query_one("#run-lines").content)
        assert f"run {second_run.run_id} · done" in shown and "second answer" in shown


async def test_pause_reorder_edit_and_remove_in_the_queue_tab(repo, tmp_path):
    seed(repo, tmp_path, "alpha", "beta", "gamma")
    app = OnceApp(backend_for(repo, tmp_path, [message("ran gamma"), message("ran alpha")]))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        assert rows(panel) == ["alpha", "beta", "gamma"] and not app.running  # nothing starts on open
        await queue_key(pilot, "alt+p")
        assert app.queue.paused and "paused" in str(panel.query_one("#queue-state").content)
        assert app.focused is app.query_one(PromptInput)  # after an action, the keys are the prompt's again
        panel.select(app.queue.get("3").id)
        await queue_key(pilot, "alt+t")  # gamma to the top
        await queue_key(pilot, "alt+down")  # and down again, past alpha
        assert rows(panel) == ["alpha", "gamma", "beta"]
        await queue_key(pilot, "alt+up")
        assert rows(panel) == ["gamma", "alpha", "beta"]
        panel.select(app.queue.get("3").id)  # beta
        await queue_key(pilot, "alt+e")
        assert panel.asking == "edit"
        edit_line = panel.query_one("#queue-input")
        assert edit_line.value == "beta" and app.focused is edit_line
        edit_line.value = "beta, reworded"
        await pilot.press("enter")
        assert rows(panel)[2] == "beta, reworded" and not app.running  # not sent to the agent
        assert app.focused is app.query_one(PromptInput)
        await queue_key(pilot, "delete")  # removing asks first
        assert isinstance(app.screen, ConfirmScreen) and "#3" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert app.focused is app.query_one(PromptInput)
        assert stored(repo, tmp_path) == [("gamma", "queued", 1), ("alpha", "queued", 1)]
        assert app.query_one(StatusBar).status.queued == 2
        await pilot.click("#queue-pause")  # the Resume button: the first item starts at once
        await until(pilot, lambda: len(app.finished) == 2 and not app.running)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [ended.prompt for ended in app.finished] == ["gamma", "alpha"]
        assert [status for _, status, _ in stored(repo, tmp_path)] == ["done", "done"]


@pytest.mark.parametrize("answer", ["n", "escape", "enter"])
async def test_removing_asks_first_and_anything_but_yes_keeps_the_item(repo, tmp_path, answer):
    seed(repo, tmp_path, "alpha", "beta")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await queue_key(pilot, "alt+p")  # paused, so nothing starts meanwhile
        panel.select(app.queue.get("2").id)
        await queue_key(pilot, "alt+x")
        assert isinstance(app.screen, ConfirmScreen) and "beta" in app.screen.question
        await pilot.press(answer)  # enter presses the focused button, which is No
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert stored(repo, tmp_path) == [("alpha", "queued", 1), ("beta", "queued", 1)]
        assert app.focused is app.query_one(PromptInput)


async def test_repeat_outside_one_to_fifty_is_refused_in_the_panel(repo, tmp_path):
    seed(repo, tmp_path, "again")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await queue_key(pilot, "alt+p")  # paused, so a change does not start the item
        for bad in ("0", "51", "many"):
            await queue_key(pilot, "alt+r")
            field = panel.query_one("#queue-input")
            field.value = bad
            await pilot.press("enter")
            assert "repeat must be a whole number from 1 to 50" in panel.message
            assert panel.asking == "repeat"  # still asking
        assert stored(repo, tmp_path) == [("again", "queued", 1)]
        assert app.focused is panel.query_one("#queue-input")  # a refused answer keeps asking
        panel.query_one("#queue-input").value = "3"
        await pilot.press("enter")
        assert panel.message == "" and panel.asking is None
        assert stored(repo, tmp_path) == [("again", "queued", 3)]
        assert "0/3" in str(panel.query_one("#queue-table").get_row_at(0))


async def test_esc_cancels_the_edit_line_and_clears_its_error(repo, tmp_path):
    seed(repo, tmp_path, "keep me")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await queue_key(pilot, "alt+p")  # paused, so nothing starts
        await queue_key(pilot, "alt+r")
        field = panel.query_one("#queue-input")
        field.value = "many"
        await pilot.press("enter")
        assert "repeat must be" in panel.message and panel.asking == "repeat"
        await pilot.press("escape")
        await pilot.pause()
        assert panel.asking is None and not field.has_class("-asking")
        assert panel.message == ""  # the refused answer's error goes with the line
        assert app.focused is app.query_one(PromptInput)
        await queue_key(pilot, "alt+e")
        field.value = "changed"
        await pilot.press("escape")
        await pilot.pause()
        assert panel.asking is None and stored(repo, tmp_path) == [("keep me", "queued", 1)]


async def test_items_added_by_another_process_show_up_without_touching_the_panel(repo, tmp_path):
    seed(repo, tmp_path, "already there")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await queue_key(pilot, "alt+p")  # paused: nothing starts, the items only show
        assert rows(panel) == ["already there"]
        seed(repo, tmp_path, "added from another terminal")  # `agent queue add`, another connection
        await until(pilot, lambda: panel.query_one("#queue-table").row_count == 2, tries=400)
        assert "added from another terminal" in str(panel.query_one("#queue-table").get_row_at(1))
        assert app.query_one(StatusBar).status.queued == 2


async def test_pending_items_are_listed_above_finished_ones(repo, tmp_path):
    seed(repo, tmp_path, "old one", "next one")
    with open_store(str(tmp_path / "db")) as store:
        queue = PromptQueue(store.conn, str(repo.resolve()))
        item = queue.claim("someone", 60)
        queue.finish(item.id, "someone", "done", None)
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        table = panel.query_one("#queue-table")
        first, second = (str(table.get_row_at(n)) for n in range(2))
        assert "next one" in first and "queued" in first
        assert "old one" in second and "done" in second
