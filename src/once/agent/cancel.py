"""Cancelling a run from another thread, the way the app's Escape does it.

The run's own thread raises KeyboardInterrupt, which the agent loop already handles cleanly
(staged edits dropped, landed ones committed, the run recorded as interrupted). It is raised
only at safe points: a text delta, a model request, a tool call about to start or just
finished; never between an edit landing and its commit. A running command sees the same
`event` (passed to the run as its cancel token) and stops its process group at once.
"""

from __future__ import annotations

import threading

from once.events import Event, ModelRequest, ToolCall, ToolResult

SAFE_POINTS = (ModelRequest, ToolCall, ToolResult)


class Cancellation:
    def __init__(self) -> None:
        self.event = threading.Event()
        self._raised = False

    def set(self) -> None:
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def at_event(self, event: Event) -> None:
        """Call after handling each event the run emits: stops the run at a safe point."""
        if isinstance(event, SAFE_POINTS):
            self.stop_if_cancelled()

    def stop_if_cancelled(self) -> None:
        if self.event.is_set() and not self._raised:
            self._raised = True  # once: the loop's own cleanup emits events through the same sink
            raise KeyboardInterrupt
