"""Drain a queue headlessly: claim, run, finish; one item at a time, the lease kept alive.

What "run" means is passed in (`RunItem`): the CLI runs a prompt exactly as `agent run`
does. This module only owns the order of things, so it never imports the agent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from once.errors import OnceError
from once.queue.store import DEFAULT_LEASE, PromptQueue, QueueItem

OUTCOMES = ("done", "failed", "cancelled", "busy")


@dataclass(frozen=True)
class Attempt:
    """What running one item gave.

    done / failed: the run ended (its id links to the item). cancelled: the user stopped it;
    the item goes back to the queue and draining stops. busy: another run holds the
    repository, nothing ran; the item goes back and is tried again shortly.
    """

    outcome: str
    run_id: str | None = None
    detail: str = ""


RunItem = Callable[[QueueItem], Attempt]


@dataclass
class DrainReport:
    finished: list[tuple[QueueItem, Attempt]] = field(default_factory=list)
    stopped: str = "empty"
    """empty, paused, cancelled or limit."""

    @property
    def failed(self) -> list[tuple[QueueItem, Attempt]]:
        return [(item, attempt) for item, attempt in self.finished if attempt.outcome == "failed"]


@contextmanager
def keep_lease(queue: PromptQueue, item_id: str, owner: str, lease_seconds: float) -> Iterator[threading.Event]:
    """Renew the lease every third of its length while the block runs.

    Yields an event that is set if the lease was lost (it expired and someone took it).
    """
    stop, lost = threading.Event(), threading.Event()

    def renew() -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                if not queue.renew(item_id, owner, lease_seconds):
                    lost.set()
                    return
            except OnceError:  # a busy database now is retried at the next tick
                continue

    thread = threading.Thread(target=renew, name=f"lease-{item_id}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join()


def drain(
    queue: PromptQueue,
    run_item: RunItem,
    *,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE,
    ready: Callable[[], bool] = lambda: True,
    on_start: Callable[[QueueItem], None] = lambda item: None,
    on_finish: Callable[[QueueItem, Attempt], None] = lambda item, attempt: None,
    wait: Callable[[float], None] = time.sleep,
    poll: float = 0.25,
    max_items: int | None = None,
) -> DrainReport:
    """Run queued items until the queue is empty or paused (or `max_items` ran).

    `ready()` says whether the repository is free to run in; while it is not (another
    process's run), this waits `poll` seconds instead of claiming, so items keep their order.
    """
    report = DrainReport()
    while True:
        if max_items is not None and len(report.finished) >= max_items:
            report.stopped = "limit"
            return report
        if not ready():
            if queue.paused or not _claimable(queue):
                report.stopped = "paused" if queue.paused else "empty"
                return report
            wait(poll)
            continue
        item = queue.claim(owner, lease_seconds)
        if item is None:
            report.stopped = "paused" if queue.paused and _claimable(queue) else "empty"
            return report
        attempt = _run_claimed(queue, item, run_item, owner, lease_seconds, on_start)
        if attempt.outcome == "busy":
            wait(poll)
            continue
        if attempt.outcome == "cancelled":
            report.stopped = "cancelled"
            return report
        finished = queue.finish(item.id, owner, attempt.outcome, attempt.run_id) or item
        report.finished.append((finished, attempt))
        on_finish(finished, attempt)


def _run_claimed(queue: PromptQueue, item: QueueItem, run_item: RunItem, owner: str, lease_seconds: float,
                 on_start: Callable[[QueueItem], None]) -> Attempt:
    """Run one claimed item; anything but a finished run gives the item back to the queue."""
    try:
        on_start(item)
        with keep_lease(queue, item.id, owner, lease_seconds):
            attempt = run_item(item)
    except BaseException:  # Ctrl-C, a bug: the item must not stay leased until expiry
        queue.release(item.id, owner)
        raise
    if attempt.outcome not in OUTCOMES:
        queue.release(item.id, owner)
        raise ValueError(f"unknown outcome {attempt.outcome!r}")
    if attempt.outcome in ("busy", "cancelled"):
        queue.release(item.id, owner)
    return attempt


def _claimable(queue: PromptQueue) -> bool:
    return any(item.status == "queued" for item in queue.items(include_finished=False))
