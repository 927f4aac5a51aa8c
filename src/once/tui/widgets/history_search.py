"""ctrl+r: search earlier prompts of this repository; Enter puts the highlighted one in the prompt."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from once.tui.prompt_history import PromptHistory

SHOWN = 30


def one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class HistorySearch(ModalScreen[str | None]):
    DEFAULT_CSS = """
    HistorySearch { align: center middle; }
    HistorySearch > Vertical { width: 90%; height: auto; max-height: 80%; border: thick $primary;
                               background: $surface; padding: 0 1; }
    HistorySearch OptionList { height: auto; max-height: 20; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("up", "move(-1)", show=False),
                Binding("down", "move(1)", show=False), Binding("ctrl+r", "move(1)", show=False)]

    def __init__(self, history: PromptHistory, text: str = "") -> None:
        super().__init__()
        self.history = history
        self.text = text
        self.found: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Search earlier prompts (Enter picks, Esc cancels)", markup=False)
            yield Input(self.text, placeholder="text in the prompt", id="history-query")
            yield OptionList(id="history-found")

    def on_mount(self) -> None:
        self.query_one(OptionList).can_focus = False
        self.query_one(Input).focus()
        self._fill(self.text)

    @on(Input.Changed, "#history-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def _fill(self, query: str) -> None:
        self.found = self.history.search(query)[:SHOWN]
        found = self.query_one(OptionList)
        found.clear_options()
        found.add_options([Option(one_line(text)) for text in self.found])
        if self.found:
            found.highlighted = 0

    def action_move(self, step: int) -> None:
        found = self.query_one(OptionList)
        if self.found:
            found.highlighted = ((found.highlighted or 0) + step) % len(self.found)

    @on(Input.Submitted, "#history-query")
    def _picked(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one(OptionList).highlighted
        self.dismiss(self.found[index] if self.found and index is not None else None)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
