"""The app's prompt queue: the repository's persisted queue, drained one item per run.

A mixin of OnceApp. Prompts sent while a run is going are added to the queue; when a run
ends, the next queued item is claimed (under a lease, as `agent queue run` claims it) and
started. A cancel gives the item back and pauses the queue, so nothing starts behind it.
A refused key gives the item back and pauses the queue with the reason; an overloaded or
rate-limiting provider gives it back and tries it again after a wait (esc ends the wait),
pausing after `queue.overload_retries` such attempts in a row.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from textual.timer import Timer

from once.errors import OnceError
from once.tui.messages import RunEnded
from once.tui.widgets.conversation import Conversation

if TYPE_CHECKING:
    from once.queue.drain import Attempt
    from once.queue.store import PromptQueue, QueueItem
    from once.store import Store
    from once.tui.app import OnceApp
    from once.tui.widgets.queue_panel import QueuePanel

APP_LEASE = 120.0
"""Seconds an item the app runs stays claimed without a renewal (renewed every third)."""
QUEUE_WATCH = 2.0
"""Seconds between checks for changes other processes made to the queue (`agent queue add`)."""


class QueueFlow:
    queue_item: QueueItem | None
    _queue: PromptQueue | None
    _queue_closed: bool
    _queue_store: Store | None
    _queue_owner: str
    _queue_timer: Timer | None
    _queue_run_before: str | None
    _queue_overloads: int
    _queue_retry_timer: Timer | None
    _queue_seen: tuple[int, tuple[object, ...]] | None

    def init_queue(self: OnceApp) -> None:
        """Called from __init__: nothing is opened until first used (at the latest after the first paint)."""
        self._queue = None
        self._queue_closed = False
        self.queue_item = None
        """The queue item the current run is running, if it came from the queue."""
        self._queue_store = None
        self._queue_owner = ""
        """Who claims the items this app runs: named when the queue opens."""
        self._queue_timer = None
        self._queue_run_before = None
        self._queue_overloads = 0
        """Attempts in a row that met an overloaded provider."""
        self._queue_retry_timer = None
        """Pending while waiting to try an overloaded item again."""
        self._queue_seen = None
        """The database's change mark and the queue as last shown."""

    def start_queue_watch(self: OnceApp) -> None:
        """Called once the queue is shown: show what other processes add or change, every QUEUE_WATCH s."""
        self._check_queue()  # what is on screen now is the baseline
        self.set_interval(QUEUE_WATCH, self._check_queue)

    def _check_queue(self: OnceApp) -> None:
        import sqlite3  # with the queue's store, after the first paint

        queue = self._queue
        if queue is None:
            return
        try:
            mark = queue.change_mark()
            if self._queue_seen is not None and self._queue_seen[0] == mark:
                return  # nobody else wrote to the database: nothing to read
            shown = tuple((i.id, i.status, i.text, i.repeat, i.runs_done, i.number) for i in queue.items())
            shown += (queue.state(),)
        except (OnceError, sqlite3.Error):
            return  # a busy database: the next check sees it
        changed = self._queue_seen is not None and self._queue_seen[1] != shown
        self._queue_seen = (mark, shown)
        if changed:
            self._queue_changed()

    @property
    def queue(self: OnceApp) -> PromptQueue | None:
        """This repository's queue, opened on first use; None when the database cannot be opened."""
        return self.open_queue()

    def open_queue(self: OnceApp) -> PromptQueue | None:
        """This repository's queue on a connection the app keeps until unmount."""
        if self._queue is None and not self._queue_closed:
            from once.ids import new_id
            from once.queue.store import PromptQueue
            from once.store import open_store

            try:
                self._queue_store = open_store(str(self.backend.db) if self.backend.db else None)
            except OnceError:
                return None  # the first run reports the database problem
            self._queue = PromptQueue(self._queue_store.conn, str(self.backend.repo.root))
            self._queue_owner = f"app:{os.getpid()}:{new_id('d')}"
        return self._queue

    def close_queue(self: OnceApp) -> None:
        self._queue_closed = True  # nothing reopens it after unmount
        if self.queue_item is not None and self._queue is not None:
            self._queue.release(self.queue_item.id, self._queue_owner)
            self.queue_item = None
        if self._queue_store is not None:
            self._queue_store.close()
            self._queue_store, self._queue = None, None

    def queued_count(self: OnceApp) -> int:
        """Items waiting to start (the one this app is running is not waiting); 0 until the queue is open."""
        if self._queue is None:
            return 0
        return sum(1 for item in self._queue.items(include_finished=False) if item.status == "queued")

    def queue_prompt(self: OnceApp, text: str) -> None:
        """A prompt sent while a run is going waits in the queue (never injected into the run)."""
        queue = self.open_queue()
        conversation = self.query_one(Conversation)
        if queue is None:
            conversation.add_notice("the queue is unavailable (the database cannot be opened)")
            return
        try:
            queue.add(text)
        except OnceError as exc:
            conversation.add_notice(f"not queued: {exc.message}")
            return
        paused = " (the queue is paused: resume it in the Queue tab)" if queue.paused else ""
        conversation.add_notice(f"queued: {text}{paused}")
        self._queue_changed()

    def start_next_queued(self: OnceApp) -> bool:
        """Claim the next item and start it, unless a run is going or the queue is paused or empty."""
        if self.running or self.queue is None:
            return False
        try:
            item = self.queue.claim(self._queue_owner, APP_LEASE)
        except OnceError as exc:
            self.query_one(Conversation).add_notice(f"queue: {exc.message}")
            return False
        if item is None:
            return False
        self.queue_item, self._queue_run_before = item, self.run_id
        self._queue_timer = self.set_interval(APP_LEASE / 3, self._renew_queue_lease)
        self._start(item.text)
        self._queue_changed()
        return True

    def _renew_queue_lease(self: OnceApp) -> None:
        if self.queue is not None and self.queue_item is not None:
            self.queue.renew(self.queue_item.id, self._queue_owner, APP_LEASE)

    def queue_run_ended(self: OnceApp, message: RunEnded, cancelled: bool) -> None:
        """Record how the queue's item went, then start the next one (not after a cancel)."""
        item, self.queue_item = self.queue_item, None
        if self._queue_timer is not None:
            self._queue_timer.stop()
            self._queue_timer = None
        if self.queue is None:
            return
        held = item is not None and self._settle_item(item, message, cancelled)
        if cancelled:
            if self.queued_count():
                self.queue.pause()
                self.query_one(Conversation).add_notice("queue paused after the cancel: resume it in the Queue tab")
        elif not held:
            self.start_next_queued()
        self._queue_changed()

    def _settle_item(self: OnceApp, item: QueueItem, message: RunEnded, cancelled: bool) -> bool:
        """Record the item's run; True when the queue must not go on now (a provider outage)."""
        assert self.queue is not None
        if cancelled:
            self.queue.release(item.id, self._queue_owner)
            return False
        result = message.result
        run_id = result.run_id if result else (self.run_id if self.run_id != self._queue_run_before else None)
        if message.exc is not None:
            from once.queue.drain import attempt_for_error  # the queue's store and redaction: after the first paint

            attempt = attempt_for_error(message.exc, run_id)
            if attempt.outcome in ("auth", "overloaded"):
                self._provider_outage(item, attempt)
                return True
        self._queue_overloads = 0
        status = "done" if result is not None and result.finished else "failed"
        self.queue.finish(item.id, self._queue_owner, status, run_id)
        return False

    def _provider_outage(self: OnceApp, item: QueueItem, attempt: Attempt) -> None:
        """The item goes back; the queue waits to try it again, or pauses saying why."""
        from once.queue.backoff import RetryPolicy, auth_reason, gives_up, overload_reason, retry_delay

        assert self.queue is not None
        conversation = self.query_one(Conversation)
        policy = RetryPolicy.from_settings(self.backend.settings)
        if attempt.outcome == "overloaded":
            self._queue_overloads += 1
            if not gives_up(self._queue_overloads, policy):
                self.queue.release(item.id, self._queue_owner)
                delay = retry_delay(self._queue_overloads, attempt.retry_after, policy)
                self._queue_retry_timer = self.set_timer(delay, self._retry_queued)
                conversation.add_notice(f"queue: trying it again in {delay:.0f}s (esc stops waiting)")
                return
            reason = overload_reason(self._queue_overloads, attempt.detail)
        else:
            reason = auth_reason(attempt.detail)
        self._queue_overloads = 0
        self.queue.pause(reason)  # before the release, so no other drainer takes the item meanwhile
        self.queue.release(item.id, self._queue_owner)
        conversation.add_notice(f"queue paused: {reason}\nResume it in the Queue tab once that is fixed.")

    def _retry_queued(self: OnceApp) -> None:
        self._queue_retry_timer = None
        if not self.start_next_queued():
            self._refresh_status()

    def stop_queue_retry(self: OnceApp) -> bool:
        """Esc while waiting to try an overloaded item again: stop waiting and pause the queue."""
        timer, self._queue_retry_timer = self._queue_retry_timer, None
        if timer is None:
            return False
        timer.stop()
        self._queue_overloads = 0
        if self.queue is not None:
            self.queue.pause()
        self.query_one(Conversation).add_notice("queue paused: stopped waiting to retry; resume it in the Queue tab")
        self._queue_changed()
        return True

    def on_queue_panel_changed(self: OnceApp, message: QueuePanel.Changed) -> None:
        """The user changed the queue: a resumed queue starts at once when nothing runs; the prompt
        takes the keys again (the next thing typed is a prompt, not a queue action)."""
        self.focus_prompt()
        if not self.start_next_queued():
            self._refresh_status()

    def on_queue_panel_done(self: OnceApp, message: QueuePanel.Done) -> None:
        self.focus_prompt()

    def on_queue_panel_open_run(self: OnceApp, message: QueuePanel.OpenRun) -> None:
        """Enter on an item that ran: its run, step by step."""
        from once.store import open_store
        from once.tui.widgets.run_view import RunScreen, run_lines

        with open_store(str(self.backend.db) if self.backend.db else None) as store:
            run = store.get_run(message.run_id)
            events = store.run_events(run.id) if run is not None else []
        if run is None:
            self.query_one(Conversation).add_notice(f"run {message.run_id} is no longer in the database")
            return
        self.push_screen(RunScreen(run_lines(run, events)))

    def _queue_changed(self: OnceApp) -> None:
        from once.tui.widgets.queue_panel import QueuePanel  # mounted after the first paint, loaded then

        for panel in self.query(QueuePanel):
            panel.refresh_items()
        self._refresh_status()
