"""The prompt input: history on up/down, slash commands and skill names completed as you type."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

from once.tui.commands import complete


class PromptHistory:
    """Earlier prompts, newest last; a cursor walks them like a shell's history."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.cursor = 0

    def add(self, text: str) -> None:
        if not self.items or self.items[-1] != text:
            self.items.append(text)
        self.cursor = len(self.items)

    def back(self) -> str | None:
        if not self.items:
            return None
        self.cursor = max(0, self.cursor - 1)
        return self.items[self.cursor]

    def forward(self) -> str:
        self.cursor = min(len(self.items), self.cursor + 1)
        return self.items[self.cursor] if self.cursor < len(self.items) else ""


class SlashSuggester(Suggester):
    """Suggests `/command` and `/skill-name` completions; right arrow or end accepts one."""

    def __init__(self, skills: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.skills = skills

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.skills())


class PromptInput(Input):
    DEFAULT_CSS = """
    PromptInput { margin: 0 1; }
    """
    BINDINGS = [Binding("up", "history_back", show=False), Binding("down", "history_forward", show=False)]

    def __init__(self, skills: Callable[[], Iterable[str]] = tuple, **kwargs: Any) -> None:
        super().__init__(placeholder="Ask once to do something… (/help lists commands, Esc cancels a run)",
                         suggester=SlashSuggester(skills), **kwargs)
        self.history = PromptHistory()

    def action_history_back(self) -> None:
        text = self.history.back()
        if text is not None:
            self.value = text
            self.cursor_position = len(text)

    def action_history_forward(self) -> None:
        self.value = self.history.forward()
        self.cursor_position = len(self.value)
