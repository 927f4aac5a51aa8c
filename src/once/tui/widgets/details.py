"""The Details tab: the current run step by step, each with its duration when it has one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Static

from once.tui.messages import ShowCommit
from once.tui.widgets.conversation import tool_subject
from once.words import cost_text, plural, status_words, step_words

if TYPE_CHECKING:  # the events load with the first run, after the first paint
    from once.events import Event


def duration_text(ms: float | None) -> str:
    """` (12 ms)`, or nothing when the duration is not known (a tool call shown again from a stored session)."""
    return "" if ms is None else f" ({ms:.0f} ms)"


def describe(event: Event, subject: str = "") -> str | None:
    """One line for the steps worth listing; None for the rest. `subject`: what a tool worked on."""
    from once.events import (AttemptDiscarded, Cancelled, CommitMade, ErrorEvent, FileChanged, KnowledgeExposure,
                             PermissionDecision, PlanStep, RunFinished, RunStarted, TestResult, ToolResult,
                             VentFiled, WarningEvent)

    if isinstance(event, RunStarted):
        return f"run {event.run_id} · {event.model} · {event.permission_mode}"
    if isinstance(event, ToolResult):
        mark = "✗" if event.is_error else "✓"
        about = f" {subject}" if subject else ""
        return f"{mark} {event.name}{about}{duration_text(event.duration_ms)}"
    if isinstance(event, FileChanged):
        return f"  {event.action} {event.path}"
    if isinstance(event, CommitMade):
        return f"● commit {event.sha[:8]} {event.subject} (click for the diff)"
    if isinstance(event, TestResult):
        mark = "✓" if event.passed else "✗"
        return f"{mark} check {event.check} ({event.duration_ms:.0f} ms) {event.summary}".rstrip()
    if isinstance(event, PermissionDecision):
        why = f" ({event.reason})" if event.reason else ""
        return f"  {event.kind} {event.decision}: {event.subject[:60]}{why}"
    if isinstance(event, PlanStep):
        return f"  step {event.step} {step_words(event.status)}: {event.title[:60]}"
    if isinstance(event, VentFiled):
        filed = "filed" if event.filed else "not filed (rate limit)"
        return f"! vent {event.category} {filed}: {event.message[:60]}"
    if isinstance(event, KnowledgeExposure):
        return f"  learned entry {event.arm}: {event.title[:50]}"
    if isinstance(event, Cancelled):
        return f"! cancelled by the {event.reason}"
    if isinstance(event, ErrorEvent):
        return f"! {event.kind}: {event.message}"
    if isinstance(event, WarningEvent):
        return f"! {event.message}"
    if isinstance(event, AttemptDiscarded):
        from once.agent.attempts import describe_discarded  # loads the checks' code: not before the first paint

        return f"↺ {describe_discarded(event)}"
    if isinstance(event, RunFinished):
        return f"run {status_words(event.status)} · {plural(event.turns, 'turn')} · {cost_text(event.cost_usd)}"
    return None


class DetailLine(Static):
    DEFAULT_CSS = """
    DetailLine { height: auto; }
    DetailLine.-error { color: $text-error; }
    DetailLine.-commit { color: $text-success; }
    """


class CommitLine(DetailLine):
    """A commit step: clicking it opens the commit's diff."""

    def __init__(self, text: str, sha: str) -> None:
        super().__init__(text, markup=False)
        self.sha = sha

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(ShowCommit(self.sha))


class DetailsPanel(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    DetailsPanel { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.subjects: dict[str, str] = {}
        """What each tool call was about (a path, a command), shown with its result."""

    def add_event(self, event: Event) -> DetailLine | None:
        from once.events import CommitMade, ErrorEvent, ToolCall, ToolResult

        if isinstance(event, ToolCall):
            self.subjects[event.tool_use_id] = tool_subject(event.name, event.input)
        subject = self.subjects.get(event.tool_use_id, "") if isinstance(event, ToolResult) else ""
        text = describe(event, subject)
        if text is None:
            return None
        line = CommitLine(text, event.sha) if isinstance(event, CommitMade) else DetailLine(text, markup=False)
        if isinstance(event, ErrorEvent) or (isinstance(event, ToolResult) and event.is_error):
            line.add_class("-error")
        if isinstance(event, CommitMade):
            line.add_class("-commit")
        self.mount(line)
        self.scroll_end(animate=False)
        return line

    def clear(self) -> None:
        self.subjects.clear()
        self.remove_children()

    def lines(self) -> list[str]:
        return [str(line.content) for line in self.query(DetailLine)]
