"""Pick an earlier session of this repository: first prompt, time, model, cost."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from once.tui.sessions import SessionSummary
from once.words import cost_text, plural


def summary_line(summary: SessionSummary) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated_at))
    prompt = " ".join(summary.prompt.split())[:60] or "(no prompt)"
    return (f"{when}  {prompt}  · {summary.model or '?'} · {cost_text(summary.cost_usd, '-')} · "
            f"{plural(summary.runs, 'run')}")


class SessionPicker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    SessionPicker { align: center middle; }
    SessionPicker > Vertical { width: 90%; height: 70%; border: thick $primary; background: $surface; }
    SessionPicker OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, summaries: list[SessionSummary]) -> None:
        super().__init__()
        self.summaries = summaries

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Sessions of this repository (enter opens one, esc closes)", markup=False)
            options = [Option(summary_line(s), id=s.id) for s in self.summaries]
            yield OptionList(*options) if options else Static("No earlier sessions here yet.", markup=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
