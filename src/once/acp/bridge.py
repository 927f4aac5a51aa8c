"""Calls from a run's worker thread into the connection's event loop.

The runner is synchronous and runs in a worker thread; the SDK's connection lives on the
event loop. Every notification is awaited before the run goes on, so updates reach the
client in the order the run produced them, and all of them before the prompt's answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05
DATA_CHARS = 300


class ClientCallFailed(Exception):
    """The client refused the call, or the connection is closed."""


class LoopBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def call(self, coro: Coroutine[Any, Any, T], cancel: threading.Event | None = None) -> T | None:
        """Run `coro` on the loop and wait for it; None when `cancel` is set first (the call is dropped)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    future.cancel()
                    return None
            except concurrent.futures.CancelledError:
                return None
            except Exception as exc:  # the connection's own errors: closed, or the client refused
                raise ClientCallFailed(_why(exc)) from exc


def _why(exc: Exception) -> str:
    """The error's message and, for a client's refusal, the data it sent with it (its reason)."""
    data = getattr(exc, "data", None)
    said = str(exc) or type(exc).__name__
    return f"{said}: {json.dumps(data, default=str)[:DATA_CHARS]}" if data is not None else said
