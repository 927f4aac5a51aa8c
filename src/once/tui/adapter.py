"""Turns the run's events, text and approval requests into app messages, and carries cancellation.

Cancelling works as `once.agent.cancel` describes: KeyboardInterrupt inside the worker at a
safe point, and a running command stopped through the same event.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.agent.cancel import Cancellation
from once.events import Event
from once.tui.messages import AgentEvent, AnswerSlot, ApprovalNeeded, TextDelta


class RunAdapter:
    def __init__(self, post: Callable[[Message], object]) -> None:
        self.post = post
        self.cancellation = Cancellation()
        self.cancel = self.cancellation.event

    def __call__(self, event: Event) -> None:
        self.post(AgentEvent(event))
        self.cancellation.at_event(event)

    def text(self, delta: str) -> None:
        self.cancellation.stop_if_cancelled()
        self.post(TextDelta(delta))

    def approve(self, request: ApprovalRequest) -> Answer:
        """Blocks the worker until the user answers (or cancels the run)."""
        if self.cancel.is_set():
            return Answer(Decision.reject, "the run was cancelled")
        slot = AnswerSlot()
        self.post(ApprovalNeeded(request, slot))
        while not slot.ready.wait(0.05):
            if self.cancel.is_set():
                return Answer(Decision.reject, "the run was cancelled")
        return slot.answer or Answer(Decision.reject)
