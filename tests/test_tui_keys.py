"""Keys with Pilot: focus is never a trap, ctrl+c / ctrl+d, the mode cycle, scrolling, the side panel."""

from __future__ import annotations

import pytest

from once.tui.app import OnceApp
from once.tui.widgets.conversation import Conversation
from once.tui.widgets.dialogs import ConfirmScreen
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.queue_panel import QueuePanel
from once.tui.widgets.status_bar import StatusBar
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message
from tests.test_tui import GatedReplay, backend_for, settle, submit
from tests.test_tui_flows import notices
from tests.test_tui_queue import open_queue_tab, seed, stored, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_typing_with_a_queue_row_focused_goes_to_the_prompt_not_to_the_queue(repo, tmp_path):
    seed(repo, tmp_path, "alpha", "beta")
    app = OnceApp(backend_for(repo, tmp_path, [message("ok"), message("ran alpha"), message("ran beta")]))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await pilot.press("alt+p")  # paused by its modifier key, so nothing starts behind our prompt
        assert app.queue.paused and app.focused is app.query_one(PromptInput)
        panel.query_one("#queue-table").focus()
        await pilot.pause()
        await pilot.press(*"text prompt", "enter")  # x, t, e and p were queue keys once
        await settle(pilot)
        assert [ended.prompt for ended in app.finished] == ["text prompt"]  # sent, not a run opened
        assert stored(repo, tmp_path) == [("alpha", "queued", 1), ("beta", "queued", 1)]
        assert app.queue.paused and [i.text for i in panel.items] == ["alpha", "beta"]


async def test_removing_a_queued_prompt_asks_first(repo, tmp_path):
    seed(repo, tmp_path, "alpha", "beta")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        panel = await open_queue_tab(pilot)
        await pilot.press("alt+p")
        panel.query_one("#queue-table").focus()
        await pilot.pause()
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen) and "alpha" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert [i.text for i in panel.items] == ["alpha", "beta"]
        assert app.focused is app.query_one(PromptInput)  # back to the prompt after the dialog
        await pilot.click("#queue-remove")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert [i.text for i in panel.items] == ["beta"] and app.focused is app.query_one(PromptInput)


async def test_focus_returns_to_the_prompt_after_a_button_and_escape_in_a_panel(repo, tmp_path):
    seed(repo, tmp_path, "alpha")
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(140, 40)) as pilot:
        await open_queue_tab(pilot)
        await pilot.click("#queue-pause")
        await pilot.pause()
        assert app.queue.paused and app.focused is app.query_one(PromptInput)
        app.query_one("#queue-table").focus()
        await pilot.pause()
        await pilot.press("escape")
        assert app.focused is app.query_one(PromptInput)


async def test_ctrl_c_cancels_a_running_turn_and_a_second_quits(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.provider = provider = GatedReplay(write_cassette(tmp_path / "g.json", [message("too late")]))
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "a long task")
        await pilot.pause()
        assert app.running
        await pilot.press("ctrl+c")
        provider.gate.set()  # the model answers; the run stops at its next safe point
        await until(pilot, lambda: not app.running)
        assert app.finished[-1].result is not None and app.finished[-1].result.status == "interrupted"
        assert app.return_code is None and any("ctrl+c again" in n for n in notices(app))
        await pilot.press("ctrl+c")  # within 2 s of the first
        await pilot.pause()
        assert app.return_code == 0


async def test_ctrl_c_with_text_clears_it_and_on_an_empty_prompt_quits(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"draft")
        app._last_ctrl_c = float("-inf")
        await pilot.press("ctrl+c")
        assert app.query_one(PromptInput).text == "" and app.return_code is None
        app._last_ctrl_c = float("-inf")  # long after: an idle, empty prompt quits on one ctrl+c
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0


async def test_ctrl_d_deletes_in_a_prompt_and_quits_on_an_empty_one(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a", "b", "home", "ctrl+d")
        assert app.query_one(PromptInput).text == "b" and app.return_code is None
        await pilot.press("ctrl+d", "ctrl+d")
        await pilot.pause()
        assert app.return_code == 0


async def test_help_mentions_the_quit_keys(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/help")
        shown = "\n".join(notices(app))
        assert "ctrl+q" in shown and "ctrl+c" in shown and "ctrl+j" in shown


async def test_shift_tab_offers_full_auto_only_when_started_with_it(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.permission_mode = "full-auto"
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one(StatusBar).status
        seen = []
        for _ in range(4):
            await pilot.press("shift+tab")
            seen.append(status.mode)
        assert seen == ["Plan", "Agent (ask)", "Agent (auto-edit)", "Agent (full-auto)"]


async def test_page_keys_scroll_the_conversation_from_the_prompt(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(Conversation)
        for n in range(80):
            view.add_notice(f"notice {n}")
        await pilot.pause()
        view.scroll_end(animate=False)
        await pilot.pause()
        bottom = view.scroll_y
        assert bottom > 0
        await pilot.press("pageup")
        assert 0 < view.scroll_y < bottom
        await pilot.press("ctrl+home")
        assert view.scroll_y == 0
        await pilot.press("pagedown")
        assert view.scroll_y > 0
        await pilot.press("ctrl+end")
        assert view.scroll_y == bottom and app.focused is app.query_one(PromptInput)


@pytest.mark.parametrize("width, shown", [(90, False), (130, True)])
async def test_the_side_panel_starts_hidden_when_narrow_and_toggles(repo, tmp_path, width, shown):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        side = app.query_one("#side")
        assert side.display is shown
        await pilot.press("f2")
        assert side.display is not shown
        await pilot.press("ctrl+backslash")
        assert side.display is shown
        await submit(pilot, "/queue")  # asking for a tab shows the panel
        assert side.display and side.active == "queue-tab" and app.query_one(QueuePanel)


@pytest.mark.parametrize("keys, lands, decision", [(("y",), True, "allow_once"), (("a",), True, "allow_always"),
                                                    (("n", "enter"), False, "reject")])
async def test_an_approval_takes_single_keys_and_the_prompt_has_the_focus_after(repo, tmp_path, keys, lands,
                                                                                 decision):
    from tests.test_tui import EDIT, wait_for_approval
    from tests.test_tui_flows import stored_events

    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        await wait_for_approval(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        assert ("return 2" in (repo / "util.py").read_text()) is lands
        permissions = stored_events(tmp_path / "db", app.run_id, "permission")
        assert [p["decision"] for p in permissions] == [decision]  # what the gate was told
        assert app.focused is app.query_one(PromptInput)
        await pilot.press("o", "k")
        assert app.query_one(PromptInput).text == "ok"


async def test_a_pending_approval_gets_the_focus_back_after_a_dialog(repo, tmp_path):
    from tests.test_tui import EDIT, wait_for_approval

    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        app.push_screen(ConfirmScreen("a question"))
        await pilot.pause()
        await pilot.press("escape")  # the dialog closes; the run still waits for its answer
        await pilot.pause()
        assert app.focused is approval and approval.pending
        app.query_one(PromptInput).focus()  # moved away by hand: typing there is text, not an answer
        await pilot.press("y")
        assert approval.pending and app.query_one(PromptInput).text == "y"
        await pilot.click(approval)
        await pilot.press("y")
        await settle(pilot)
        assert approval.said == "✓ allowed once" and "return 2" in (repo / "util.py").read_text()


async def test_clear_while_an_approval_waits_keeps_it_answerable(repo, tmp_path):
    from tests.test_tui import EDIT, wait_for_approval

    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        await pilot.click(PromptInput)
        await pilot.press(*"/clear", "enter")
        await pilot.pause()
        assert list(app.query_one(Conversation).children)[0] is approval
        assert app.focused is approval  # after the prompt, the focus goes back to what the run waits for
        await pilot.press("y")
        await settle(pilot)
        assert approval.said == "✓ allowed once" and "return 2" in (repo / "util.py").read_text()
