"""Messages the worker thread posts to the app (all thread-safe through `post_message`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from once.agent.approvals import Answer, ApprovalRequest
from once.events import Event

if TYPE_CHECKING:
    from once.agent.result import RunResult
    from once.errors import OnceError


@dataclass
class TextDelta(Message):
    text: str


@dataclass
class AgentEvent(Message):
    event: Event


@dataclass
class ApprovalNeeded(Message):
    request: ApprovalRequest
    reply: AnswerSlot


@dataclass
class RunEnded(Message):
    prompt: str
    result: RunResult | None
    error: str | None = None
    exc: OnceError | None = None
    """The error a run raised, for the queue to tell a provider outage from the item's failure."""


@dataclass
class AnswerSlot:
    """Where the UI puts the user's answer; the worker waits on `ready`."""

    ready: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None

    def give(self, answer: Answer) -> None:
        self.answer = answer
        self.ready.set()


@dataclass
class ShowCommit(Message):
    """Open a commit's diff (a click on a commit in Details)."""

    sha: str
