"""A past run step by step (what `agent log RUN` prints), in a modal screen: Escape or q closes it."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from once.words import cost_text, plural, status_words


def run_lines(run: Any, events: list[dict[str, Any]]) -> list[str]:
    """The run's header, then one line per step worth showing."""
    from once.event_lines import event_line

    lines = [f"run {run.id} · {status_words(run.status)} · {plural(run.turns, 'turn')} · "
             f"{cost_text(run.cost_usd, provider=run.provider)}", f"prompt: {run.prompt}", ""]
    lines += [line for line in (event_line(event) for event in events) if line]
    if run.result:
        lines += ["", run.result]
    return lines


class RunScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    RunScreen { align: center middle; }
    RunScreen > Vertical { width: 90%; height: 85%; border: thick $accent; background: $surface; padding: 0 1; }
    RunScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close", show=False)]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Static("\n".join(self.lines), id="run-lines", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
