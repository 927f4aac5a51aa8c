"""The menu above the prompt: slash commands and skills, or files for an `@path` mention."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class Completion:
    """What picking an entry does: replace `text[start:end]` with `insert`."""

    insert: str
    start: int
    end: int
    label: str
    about: str = ""


class CompletionMenu(OptionList, can_focus=False):
    """Never focused: the prompt keeps the keys and moves the highlight (up/down, tab or enter picks)."""

    DEFAULT_CSS = """
    CompletionMenu { height: auto; max-height: 9; margin: 0 1; border: none; display: none;
                     background: $boost; }
    CompletionMenu.-open { display: block; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entries: list[Completion] = []

    @property
    def is_open(self) -> bool:
        return bool(self.entries)

    def show(self, entries: list[Completion]) -> None:
        if entries == self.entries:
            return
        self.entries = entries
        self.clear_options()
        width = max((len(entry.label) for entry in entries), default=0)
        for entry in entries:
            label = Text(entry.label.ljust(width), style="bold")
            if entry.about:
                label.append(f"  {entry.about}", style="dim")
            self.add_option(Option(label))
        self.set_class(bool(entries), "-open")
        if entries:
            self.highlighted = 0

    def close(self) -> None:
        self.show([])

    def move(self, step: int) -> None:
        if self.entries:
            self.highlighted = ((self.highlighted or 0) + step) % len(self.entries)

    @property
    def chosen(self) -> Completion | None:
        if not self.entries:
            return None
        return self.entries[self.highlighted or 0]
