"""Messages the worker thread posts to the app (all thread-safe through `post_message`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from once.agent.approvals import Answer, ApprovalRequest

if TYPE_CHECKING:  # the events load with the first run, after the first paint
    from once.events import Event
    from once.agent.result import RunResult
    from once.errors import OnceError


@dataclass
class StreamedText:
    """Deltas the worker streams while its message waits for the UI: one message carries them all.

    The worker adds to it until the UI takes it (or an event must follow the text); then a new one
    is started, with a message of its own, so text never overtakes an event or an event text."""

    parts: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def add(self, delta: str) -> bool:
        """Adds `delta` if this text is still open (not taken, not closed); says whether it did."""
        with self.lock:
            if not self.closed:
                self.parts.append(delta)
            return not self.closed

    def close(self) -> None:
        with self.lock:
            self.closed = True

    def take(self) -> str:
        """All the deltas, once: later ones go to a new message."""
        with self.lock:
            self.closed = True
            text, self.parts = "".join(self.parts), []
            return text


@dataclass
class TextDelta(Message):
    streamed: StreamedText

    def take(self) -> str:
        return self.streamed.take()


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
