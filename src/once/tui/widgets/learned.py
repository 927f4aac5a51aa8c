"""The Learned tab: what was loaded into this turn's context, and knowledge shown or held out."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from once.events import ContextLoaded, Event, KnowledgeExposure, RunStarted


def describe_learned(event: Event) -> str | None:
    if isinstance(event, ContextLoaded):
        cut = " (truncated)" if event.truncated else ""
        return f"{event.kind}: {event.path} · {event.chars:,} chars{cut}"
    if isinstance(event, KnowledgeExposure):
        what = "injected" if event.arm == "injected" else "held out"
        return f"knowledge {what}: {event.title} · {event.status} · score {event.score:.2f}"
    return None


class LearnedLine(Static):
    DEFAULT_CSS = """
    LearnedLine { height: auto; }
    LearnedLine.-holdout { color: $text-muted; }
    """


class LearnedPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    LearnedPanel { height: 1fr; }
    """

    def add_event(self, event: Event) -> None:
        if isinstance(event, RunStarted):  # one turn at a time: what this turn loaded
            self.remove_children()
            return
        text = describe_learned(event)
        if text is None:
            return
        line = LearnedLine(text, markup=False)
        if isinstance(event, KnowledgeExposure) and event.arm != "injected":
            line.add_class("-holdout")
        self.mount(line)

    def lines(self) -> list[str]:
        return [str(line.content) for line in self.query(LearnedLine)]
