"""The Details tab: the current run step by step, each with its duration when it has one."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from once.events import (
    CommitMade,
    ErrorEvent,
    Event,
    FileChanged,
    PermissionDecision,
    RunFinished,
    RunStarted,
    TestResult,
    ToolResult,
    WarningEvent,
)


def describe(event: Event) -> str | None:
    """One line for the steps worth listing; None for the rest."""
    if isinstance(event, RunStarted):
        return f"run {event.run_id} · {event.model} · {event.permission_mode}"
    if isinstance(event, ToolResult):
        mark = "✗" if event.is_error else "✓"
        return f"{mark} {event.name} ({event.duration_ms:.0f} ms)"
    if isinstance(event, FileChanged):
        return f"  {event.action} {event.path}"
    if isinstance(event, CommitMade):
        return f"● commit {event.sha[:8]} {event.subject}"
    if isinstance(event, TestResult):
        mark = "✓" if event.passed else "✗"
        return f"{mark} check {event.check} ({event.duration_ms:.0f} ms) {event.summary}".rstrip()
    if isinstance(event, PermissionDecision):
        return f"  {event.kind} {event.decision}: {event.subject[:60]}"
    if isinstance(event, ErrorEvent):
        return f"! {event.kind}: {event.message}"
    if isinstance(event, WarningEvent):
        return f"! {event.message}"
    if isinstance(event, RunFinished):
        return f"run {event.status} · {event.turns} turns · ${event.cost_usd:.4f}"
    return None


class DetailLine(Static):
    DEFAULT_CSS = """
    DetailLine { height: auto; }
    DetailLine.-error { color: $text-error; }
    DetailLine.-commit { color: $text-success; }
    """


class DetailsPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    DetailsPanel { height: 1fr; }
    """

    def add_event(self, event: Event) -> DetailLine | None:
        text = describe(event)
        if text is None:
            return None
        line = DetailLine(text, markup=False)
        if isinstance(event, ErrorEvent) or (isinstance(event, ToolResult) and event.is_error):
            line.add_class("-error")
        if isinstance(event, CommitMade):
            line.add_class("-commit")
        self.mount(line)
        self.scroll_end(animate=False)
        return line

    def lines(self) -> list[str]:
        return [str(line.content) for line in self.query(DetailLine)]
