"""Turns the run's events, text and approval requests into app messages, and carries cancellation.

Cancelling works as `once.agent.cancel` describes: KeyboardInterrupt inside the worker at a
safe point, and a running command stopped through the same event.

Text deltas are coalesced here, before they cost the UI anything: while a `TextDelta` waits in the
app's queue, further deltas join it instead of posting messages of their own (a model streams
hundreds a second). Posting an event or an approval request closes the open text first, so the
order of text and events is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.agent.cancel import Cancellation
from once.tui.messages import AgentEvent, AnswerSlot, ApprovalNeeded, StreamedText, TextDelta

if TYPE_CHECKING:
    from once.events import Event


class RunAdapter:
    def __init__(self, post: Callable[[Message], object]) -> None:
        self.post = post
        self.cancellation = Cancellation()
        self.cancel = self.cancellation.event
        self._text: StreamedText | None = None
        """The text whose message the UI has not read yet (deltas join it)."""

    def __call__(self, event: Event) -> None:
        self._close_text()
        self.post(AgentEvent(event))
        self.cancellation.at_event(event)

    def text(self, delta: str) -> None:
        self.cancellation.stop_if_cancelled()
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
