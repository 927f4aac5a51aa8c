"""The prompt: a multi-line editor. Enter sends; shift+enter, ctrl+j or alt+enter adds a line.

Up on the first line and down on the last walk the repository's earlier prompts (ctrl+r searches
them); a large paste shows as `[pasted N lines]` and is sent whole; a menu completes slash
commands, skills and `@path` mentions; ctrl+d on an empty prompt quits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from once.tui.commands import completions
from once.tui.mentions import fuzzy_files, mention_at
from once.tui.prompt_history import PromptHistory
from once.tui.widgets.completion_menu import Completion, CompletionMenu

PASTE_LINES = 10
"""A paste of more lines than this shows collapsed in the prompt."""
NEWLINE_KEYS = ("shift+enter", "ctrl+j", "alt+enter")
"""Many terminals send shift+enter as a plain enter: ctrl+j always works."""
PLACEHOLDER = "Ask once to do something… (enter sends, ctrl+j new line, / commands, @ files, /help)"

__all__ = ["PASTE_LINES", "PromptHistory", "PromptInput"]


class PromptInput(TextArea):
    DEFAULT_CSS = """
    PromptInput { height: auto; min-height: 3; max-height: 12; margin: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+d", "delete_or_quit", show=False),
        Binding("ctrl+r", "search_history", "Search history", show=False),
        Binding("ctrl+z", "app.undo", show=False),  # the agent's last commit, as everywhere in the app
    ]

    @dataclass
    class Submitted(Message):
        """Enter: `text` is what the run receives (pastes whole), `shown` what was on screen."""

        prompt: PromptInput
        text: str
        shown: str

    def __init__(self, *, menu: CompletionMenu | None = None, skills: Callable[[], Iterable[str]] = tuple,
                 files: Callable[[], list[str]] = list, history: PromptHistory | None = None,
                 **kwargs: Any) -> None:
        super().__init__(placeholder=PLACEHOLDER, soft_wrap=True, **kwargs)
        self.menu = menu
        self.skills = skills
        self.files = files
        self.prompt_history = history or PromptHistory()
        self.pastes: dict[str, str] = {}
        """Collapsed pastes by the label shown in their place."""

    # -- the text -------------------------------------------------------------

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def expanded(self) -> str:
        """The prompt with every collapsed paste put back."""
        text = self.text
        for label, pasted in self.pastes.items():
            text = text.replace(label, pasted)
        return text

    def submit(self) -> None:
        shown, text = self.text, self.expanded()
        if not text.strip():
            return
        self.prompt_history.add(text)
        self.value = ""
        self.pastes.clear()
        self._close_menu()
        self.post_message(self.Submitted(self, text, shown))

    # -- keys -----------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        """Handled here, not as bindings: a binding runs only once the key has bubbled up to the app,
        after the keys typed behind it have landed (ctrl+j would split the next word)."""
        if self._menu_key(event.key) or event.key == "enter" or event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            if event.key in NEWLINE_KEYS:
                self.insert("\n")
            elif event.key == "enter" and not self._menu_accept_on_enter():
                self.submit()
        # Otherwise TextArea's own handler runs next (Textual calls each class's `_on_key` in turn).

    def _menu_key(self, key: str) -> bool:
        """Keys the open menu takes: up/down move, tab picks, escape closes (enter: see below)."""
        if self.menu is None:
            return False
        if key in ("tab", "enter"):
            self.refresh_menu()  # for the text as it is now: the refresh on Changed may lag behind fast typing
        if not self.menu.is_open:
            return False
        if key in ("up", "down"):
            self.menu.move(-1 if key == "up" else 1)
        elif key == "tab":
            self._accept(self.menu.chosen)
        elif key == "escape":
            self._close_menu()
        else:
            return False
        return True

    def _menu_accept_on_enter(self) -> bool:
        if self.menu is None or not self.menu.is_open:
            return False
        self._accept(self.menu.chosen)
        return True

    def action_delete_or_quit(self) -> None:
        if self.text:
            self.action_delete_right()
        else:
            self.app.exit()

    def action_cursor_up(self, select: bool = False) -> None:
        if select or self.cursor_location[0] > 0:
            super().action_cursor_up(select)
            return
        text = self.prompt_history.back()
        if text is not None:
            self.value = text

    def action_cursor_down(self, select: bool = False) -> None:
        if select or self.cursor_location[0] < self.document.line_count - 1:
            super().action_cursor_down(select)
            return
        self.value = self.prompt_history.forward()

    def action_search_history(self) -> None:
        from once.tui.widgets.history_search import HistorySearch

        def picked(text: str | None) -> None:
            if text is not None:
                self.value = text
            self.focus()

        self.app.push_screen(HistorySearch(self.prompt_history, self.text), callback=picked)

    # -- paste ----------------------------------------------------------------

    async def _on_paste(self, event: events.Paste) -> None:
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")  # terminals often paste with CRs
        lines = len(text.splitlines())
        if lines <= PASTE_LINES or self.read_only:
            return  # TextArea's own handler inserts it (Textual calls each class's `_on_paste` in turn)
        event.stop()
        event.prevent_default()
        label = f"[pasted {lines} lines]"
        number = 1
        while label in self.pastes:
            number += 1
            label = f"[pasted {lines} lines #{number}]"
        self.pastes[label] = text
        self.insert(label)
        self.focus()

    # -- completion -----------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.refresh_menu()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self.refresh_menu()

    def completions_now(self) -> list[Completion]:
        """What the menu offers for the text at the cursor."""
        text = self.text
        row, column = self.cursor_location
        offset = sum(len(line) + 1 for line in text.split("\n")[:row]) + column
        if "\n" not in text and offset == len(text):
            slash = completions(text, self.skills())
            if slash:
                return [Completion(f"{name} ", 0, len(text), name, about) for name, about in slash]
        found = mention_at(text, offset)
        if found is None:
            return []
        start, query = found
        files = self.files()
        if query in files:
            return []  # already a whole path: enter sends
        return [Completion(f"@{path} ", start, offset, f"@{path}") for path in fuzzy_files(query, files)]

    def refresh_menu(self) -> None:
        if self.menu is not None:
            self.menu.show(self.completions_now() if self.has_focus else [])

    def _close_menu(self) -> None:
        if self.menu is not None:
            self.menu.close()

    def _accept(self, entry: Completion | None) -> None:
        if entry is None:
            return
        text = self.text
        self.value = text[: entry.start] + entry.insert + text[entry.end:]
        before = text[: entry.start] + entry.insert
        row = before.count("\n")
        self.move_cursor((row, len(before.split("\n")[-1])))
        self._close_menu()
