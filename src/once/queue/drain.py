"""Drain a queue headlessly: claim, run, finish; one item at a time, the lease kept alive.

What "run" means is passed in (`RunItem`): the CLI runs a prompt exactly as `agent run`
does. This module only owns the order of things, so it never imports the agent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from once.errors import AuthenticationError, OnceError, ProviderUnavailableError
from once.queue.backoff import RetryPolicy, auth_reason, gives_up, overload_reason, retry_delay
from once.queue.store import DEFAULT_LEASE, PromptQueue, QueueItem

OUTCOMES = ("done", "failed", "cancelled", "busy", "auth", "overloaded")
GIVEN_BACK = ("busy", "cancelled", "auth", "overloaded")
"""Outcomes after which the item goes back to the queue, unrun as far as the queue counts."""


@dataclass(frozen=True)
class Attempt:
    """What running one item gave.

    done / failed: the run ended (its id links to the item). cancelled: the user stopped it;
    the item goes back to the queue and draining stops. busy: another run holds the
    repository, nothing ran; the item goes back and is tried again shortly. auth: the
    provider refused the credentials; the item goes back and the queue pauses (every item
    would fail the same way). overloaded: the provider is overloaded or rate limiting; the
    same item is tried again after a wait (`retry_after`: the server's wish, if any).
    """

    outcome: str
    run_id: str | None = None
    detail: str = ""
    retry_after: float | None = None


def attempt_for_error(exc: OnceError, run_id: str | None) -> Attempt:
    """A run that raised: an outage of the provider is not the item's failure."""
    if isinstance(exc, AuthenticationError):
        return Attempt("auth", run_id, f"{exc.message} {exc.hint or ''}".strip())
    if isinstance(exc, ProviderUnavailableError):
        return Attempt("overloaded", run_id, exc.message, exc.retry_after)
    return Attempt("failed", run_id, exc.message)


RunItem = Callable[[QueueItem], Attempt]
OnRetry = Callable[[QueueItem, Attempt, float], None]
"""Told before each wait: the item, the overloaded attempt, the seconds it will wait."""


@dataclass
class DrainReport:
    finished: list[tuple[QueueItem, Attempt]] = field(default_factory=list)
    stopped: str = "empty"
    """empty, paused, cancelled or limit."""
    reason: str = ""
    """Why the drain paused the queue (a refused key, the provider overloaded too often)."""

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


@dataclass
class _Hooks:
    on_start: Callable[[QueueItem], None]
    on_retry: OnRetry
    wait: Callable[[float], None]
    retry: RetryPolicy


def drain(
    queue: PromptQueue,
    run_item: RunItem,
    *,
    owner: str,
    lease_seconds: float = DEFAULT_LEASE,
    ready: Callable[[], bool] = lambda: True,
    on_start: Callable[[QueueItem], None] = lambda item: None,
    on_finish: Callable[[QueueItem, Attempt], None] = lambda item, attempt: None,
    on_retry: OnRetry = lambda item, attempt, delay: None,
    wait: Callable[[float], None] = time.sleep,
    poll: float = 0.25,
    max_items: int | None = None,
    retry: RetryPolicy = RetryPolicy(),
) -> DrainReport:
    """Run queued items until the queue is empty or paused (or `max_items` ran).

    `ready()` says whether the repository is free to run in; while it is not (another
    process's run), this waits `poll` seconds instead of claiming, so items keep their order.
    A refused key, or an overload that outlasts `retry`, pauses the queue with the reason.
    """
    report = DrainReport()
    hooks = _Hooks(on_start, on_retry, wait, retry)
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
            report.reason = queue.state().reason if report.stopped == "paused" else ""
            return report
        attempt = _run_claimed(queue, item, run_item, owner, lease_seconds, hooks)
        if attempt.outcome == "busy":
            wait(poll)
            continue
        if attempt.outcome == "cancelled":
            report.stopped = "cancelled"
            return report
        if attempt.outcome in ("auth", "overloaded"):  # _run_claimed paused the queue
            report.stopped, report.reason = "paused", attempt.detail
            return report
        finished = queue.finish(item.id, owner, attempt.outcome, attempt.run_id) or item
        report.finished.append((finished, attempt))
        on_finish(finished, attempt)


def _run_claimed(queue: PromptQueue, item: QueueItem, run_item: RunItem, owner: str, lease_seconds: float,
                 hooks: _Hooks) -> Attempt:
    """Run one claimed item, holding its lease through any waits; all but a finished run give it back."""
    try:
        hooks.on_start(item)
        with keep_lease(queue, item.id, owner, lease_seconds):
            attempt = _run_riding_out_overload(queue, item, run_item, hooks)
    except BaseException:  # Ctrl-C, a bug: the item must not stay leased until expiry
        queue.release(item.id, owner)
        raise
    if attempt.outcome not in OUTCOMES:
        queue.release(item.id, owner)
        raise ValueError(f"unknown outcome {attempt.outcome!r}")
    if attempt.outcome in ("auth", "overloaded"):
        queue.pause(attempt.detail)  # before the release, so no other drainer takes the item meanwhile
    if attempt.outcome in GIVEN_BACK:
        queue.release(item.id, owner)
    return attempt


def _run_riding_out_overload(queue: PromptQueue, item: QueueItem, run_item: RunItem, hooks: _Hooks) -> Attempt:
    """Run the item; while the provider is overloaded, wait and run the same item again.

    Gives up after `hooks.retry.limit` overloads in a row: the returned attempt's detail is
    then the pause reason. A pause by hand during a wait, or Ctrl-C, stops the waiting.
    """
    failures = 0
    while True:
        attempt = run_item(item)
        if attempt.outcome == "auth":
            return replace(attempt, detail=auth_reason(attempt.detail))
        if attempt.outcome != "overloaded":
            return attempt
        failures += 1
        if gives_up(failures, hooks.retry):
            return replace(attempt, detail=overload_reason(failures, attempt.detail))
        delay = retry_delay(failures, attempt.retry_after, hooks.retry)
        hooks.on_retry(item, attempt, delay)
        try:
            hooks.wait(delay)
        except KeyboardInterrupt:  # the wait is the user's to cut short, like a run
            return Attempt("cancelled", attempt.run_id, "interrupted while waiting to retry")
        if queue.paused:  # paused by hand meanwhile: the item goes back, the drain stops
            return Attempt("busy", attempt.run_id, "the queue was paused while waiting to retry")


def _claimable(queue: PromptQueue) -> bool:
    return any(item.status == "queued" for item in queue.items(include_finished=False))
