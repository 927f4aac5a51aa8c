"""The prompt editor with Pilot: new lines, pastes, persisted history, and `@path` mentions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events

from once.store import open_store
from once.tui.app import OnceApp
from once.tui.mentions import attach_mentions, fuzzy_files, mention_at, mentioned
from once.tui.prompt_history import PromptHistory, history_path
from once.tui.widgets.completion_menu import CompletionMenu
from once.tui.widgets.conversation import UserPrompt
from once.tui.widgets.history_search import HistorySearch
from once.tui.widgets.prompt_input import PromptInput
from tests.fakes.anthropic_server import message
from tests.test_tui import backend_for, settle

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def shown_prompts(app: OnceApp) -> list[str]:
    return [str(p.content) for p in app.query(UserPrompt)]


def run_prompt(tmp_path: Path, run_id: str) -> str:
    """What the run received, as the database recorded it."""
    with open_store(str(tmp_path / "db")) as store:
        run = store.get_run(run_id)
    assert run is not None
    return run.prompt


async def test_enter_sends_and_ctrl_j_shift_enter_alt_enter_add_lines(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message("ok")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o", "n", "e", "ctrl+j", "t", "w", "o", "shift+enter", "3", "alt+enter", "4")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "one\ntwo\n3\n4" and app.finished == []  # nothing sent yet
        await pilot.press("enter")
        await settle(pilot)
        assert [ended.prompt for ended in app.finished] == ["one\ntwo\n3\n4"]
        assert prompt.text == ""


async def test_a_large_paste_shows_collapsed_and_is_sent_whole(repo, tmp_path):
    pasted = "\n".join(f"line {n}" for n in range(1, 121))
    app = OnceApp(backend_for(repo, tmp_path, [message("ok")]))
    async with app.run_test(size=(120, 40)) as pilot:
        prompt = app.query_one(PromptInput)
        await pilot.press("f", "i", "x", "space")
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        assert prompt.text == "fix [pasted 120 lines]"
        app.post_message(events.Paste("a\nb"))  # a small paste keeps its lines in place
        await pilot.pause()
        assert prompt.text == "fix [pasted 120 lines]a\nb"
        await pilot.press("enter")
        await settle(pilot)
        sent = run_prompt(tmp_path, app.run_id)
        assert sent == f"fix {pasted}a\nb" and sent.count("\n") == 120
        assert shown_prompts(app) == ["› fix [pasted 120 lines]a\nb"]  # the conversation shows it collapsed


async def test_history_is_kept_per_repository_across_restarts_and_searchable(repo, tmp_path):
    first = OnceApp(backend_for(repo, tmp_path, [message("a"), message("b")]))
    async with first.run_test(size=(120, 40)) as pilot:
        for text in ("fix the parser", "two\nlines"):
            first.query_one(PromptInput).value = text
            await pilot.press("enter")
            await settle(pilot)
    kept = PromptHistory(history_path(str(repo.resolve())))
    kept.load()
    assert kept.items == ["fix the parser", "two\nlines"]
    again = OnceApp(backend_for(repo, tmp_path, []), continue_session=True)
    async with again.run_test(size=(120, 40)) as pilot:
        prompt = again.query_one(PromptInput)
        await pilot.press("up")
        assert prompt.text == "two\nlines"
        await pilot.press("up")  # the cursor is on the last line: up first moves within the prompt
        assert prompt.text == "two\nlines" and prompt.cursor_location[0] == 0
        await pilot.press("up")
        assert prompt.text == "fix the parser"
        await pilot.press("down")
        assert prompt.text == "two\nlines"
        prompt.value = ""
        await pilot.press("ctrl+r")
        assert isinstance(again.screen, HistorySearch)
        await pilot.press("p", "a", "r", "s")
        assert again.screen.found == ["fix the parser"]
        await pilot.press("enter")
        await pilot.pause()
        assert prompt.text == "fix the parser" and again.focused is prompt


async def test_an_at_mention_completes_from_the_repository_and_attaches_the_file(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message("it returns 1")]))
    async with app.run_test(size=(120, 40)) as pilot:
        menu = app.query_one(CompletionMenu)
        await pilot.press(*"what does @utl")
        await pilot.pause()
        assert [e.label for e in menu.entries][:1] == ["@util.py"]  # fuzzy: u-t-l in util.py
        await pilot.press("tab")
        prompt = app.query_one(PromptInput)
        assert prompt.text == "what does @util.py " and not menu.is_open
        await pilot.press(*"return?", "enter")
        await settle(pilot)
        # The prompt is stored as typed; the file went to the model beside it.
        assert run_prompt(tmp_path, app.run_id) == "what does @util.py return?"
        with open_store(str(tmp_path / "db")) as store:
            first = store.session_messages(app.session_id)[0]
        texts = [block["text"] for block in first["content"] if block.get("type") == "text"]
        assert any('<file path="util.py">' in text and "return 1" in text for text in texts)
        assert texts[-1] == "what does @util.py return?"
        assert shown_prompts(app) == ["› what does @util.py return?"]


def test_mentions_are_found_matched_fuzzily_and_attached_within_caps(repo: Path) -> None:
    assert mention_at("see @src/ap", 11) == (4, "src/ap") and mention_at("a@b", 3) is None
    assert mentioned("@util.py, and @cli.py.") == ["util.py", "cli.py"]
    assert fuzzy_files("cli", ["src/click.py", "cli.py", "docs/cli_notes.md"])[0] == "cli.py"
    assert fuzzy_files("zz", ["cli.py"]) == []
    (repo / "big.txt").write_text("x" * 500)
    (repo / ".once").mkdir(exist_ok=True)
    (repo / ".once" / "memory.md").write_text("private")
    attached = attach_mentions(repo, "look at @big.txt @../outside @.once/memory.md @missing.py", file_cap=100)
    assert attached.files == ["big.txt"]
    assert attached.skipped == ["../outside", ".once/memory.md", "missing.py"]
    assert "x" * 100 + "\n[cut: the first 100 of 500 characters]" in attached.prompt
    assert "private" not in attached.prompt
    assert attach_mentions(repo, "no mentions").prompt == "no mentions"


async def test_history_file_tolerates_a_damaged_line(tmp_path):
    path = tmp_path / "h.jsonl"
    path.write_text('"one"\nnot json\n"two"\n"two"\n')
    history = PromptHistory(path)
    history.load()
    assert history.items == ["one", "two"] and history.search("O") == ["two", "one"]
