"""Turns the run's events, text and approval requests into app messages, and carries cancellation.

Cancelling raises KeyboardInterrupt inside the worker, which the agent loop already handles
cleanly (staged edits dropped, landed ones committed, the run recorded as interrupted). It is
raised only at safe points: a text delta, a model request, a tool call about to start or just
finished — never between an edit landing and its commit. A command that is running when the
user cancels sees the same `cancel` event (passed to the run as its token) and stops its
process group at once; its result then says so, and the run stops right after it.

Text deltas are coalesced here, before they cost the UI anything: while a `TextDelta` waits in the
app's queue, further deltas join it instead of posting messages of their own (a model streams
hundreds a second). Posting an event or an approval request closes the open text first, so the
order of text and events is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.message import Message

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.events import Event, ModelRequest, ToolCall, ToolResult
from once.tui.messages import AgentEvent, AnswerSlot, ApprovalNeeded, StreamedText, TextDelta

SAFE_POINTS = (ModelRequest, ToolCall, ToolResult)


class RunAdapter:
    def __init__(self, post: Callable[[Message], object]) -> None:
        self.post = post
        self.cancel = threading.Event()
        self._raised = False
        self._text: StreamedText | None = None
        """The text whose message the UI has not read yet (deltas join it)."""

    def __call__(self, event: Event) -> None:
        self._close_text()
        self.post(AgentEvent(event))
        if isinstance(event, SAFE_POINTS):
            self._stop_if_cancelled()

    def text(self, delta: str) -> None:
        self._stop_if_cancelled()
        if self._text is None or not self._text.add(delta):
            self._text = StreamedText([delta])
            self.post(TextDelta(self._text))

    def approve(self, request: ApprovalRequest) -> Answer:
        """Blocks the worker until the user answers (or cancels the run)."""
        if self.cancel.is_set():
            return Answer(Decision.reject, "the run was cancelled")
        slot = AnswerSlot()
        self._close_text()
        self.post(ApprovalNeeded(request, slot))
        while not slot.ready.wait(0.05):
            if self.cancel.is_set():
                return Answer(Decision.reject, "the run was cancelled")
        return slot.answer or Answer(Decision.reject)

    def _close_text(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None

    def _stop_if_cancelled(self) -> None:
        if self.cancel.is_set() and not self._raised:
            self._raised = True  # once: the loop's own cleanup emits events through this sink
            raise KeyboardInterrupt
