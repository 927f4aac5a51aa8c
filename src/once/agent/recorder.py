"""Where a run's events and messages go: the store, plus any live renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from once.events import Event, EventSink


class RunStore(Protocol):
    """The part of `once.store.Store` a run uses."""

    def append_event(self, event: Event) -> None: ...

    def append_message(self, session_id: str, run_id: str, role: str, content: list[dict[str, Any]]) -> None: ...


@dataclass
class Recorder:
    """Fans every event out to the store (first, so it is durable) and to sinks."""

    session_id: str
    run_id: str
    store: RunStore | None = None
    sinks: list[EventSink] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        if self.store is not None:
            self.store.append_event(event)
        for sink in self.sinks:
            sink(event)

    def message(self, role: str, content: list[dict[str, Any]]) -> None:
        if self.store is not None:
            self.store.append_message(self.session_id, self.run_id, role, content)
