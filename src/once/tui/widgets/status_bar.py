"""The status line: permission mode, model, session tokens and cost, git branch, run state."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static

from once.words import cost_text, plural


@dataclass
class Status:
    mode: str = "ask"
    model: str = ""
    branch: str = ""
    tokens: int = 0
    cost: float = 0.0
    state: str = "idle"
    queued: int = 0

    def render_line(self) -> str:
        queue = f" · {self.queued} queued" if self.queued else ""
        branch = f"⎇ {self.branch} · " if self.branch else ""  # known a moment after the first paint
        return (f"{self.mode} · {self.model} · {plural(self.tokens, 'token')} · {cost_text(self.cost, 'no cost')} · "
                f"{branch}{self.state}{queue}")


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { dock: bottom; height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)
        self.status = Status()

    def refresh_status(self) -> None:
        self.update(self.status.render_line())
