"""The prompt queue of one repository, over the store's SQLite connection.

Two processes may drain one queue: `claim` takes an item under BEGIN IMMEDIATE and gives
it a lease; a lease that is not renewed expires, so a crashed process does not block the
queue. Text is redacted before it is stored, like everything else in the database.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from once.errors import StoreError, UsageError
from once.ids import new_id
from once.safety.redact import redact
from once.store.db import transaction
from once.store.tables import database
from once.words import plural

STATUSES = ("queued", "running", "done", "failed")
MOVES = ("up", "down", "top", "bottom")
MOVE_HINT = "Use up, down, top, bottom, or the number to move it to, e.g. `agent queue move 3 1`."
MIN_REPEAT, MAX_REPEAT = 1, 50
DEFAULT_LEASE = 300.0
MAX_REASON = 500
_LIST_HINT = "List the queue with `agent queue list`."


@dataclass
class QueueItem:
    """One queued prompt. `number` is its 1-based place in the full listing."""

    id: str
    repo: str
    position: int
    text: str
    status: str
    repeat: int
    run_ids: list[str] = field(default_factory=list)
    runs_done: int = 0
    """Runs this item finished (done or failed), including those without a recorded run id."""
    lease_owner: str | None = None
    lease_expires: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    number: int = 0

    @property
    def run_id(self) -> str | None:
        """The latest run, the one to link to."""
        return self.run_ids[-1] if self.run_ids else None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "run_id": self.run_id}


@dataclass(frozen=True)
class QueueState:
    paused: bool
    reason: str = ""
    """Why the drainer paused it (a refused key, the provider overloaded); empty when paused by hand."""


def check_repeat(n: object) -> int:
    """1..50, else a UsageError that says so (bools and non-integers included)."""
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_REPEAT <= n <= MAX_REPEAT:
        raise UsageError(f"repeat must be a whole number from {MIN_REPEAT} to {MAX_REPEAT}, not {n!r}",
                         hint=f"e.g. repeat 3 runs the prompt three times; at most {MAX_REPEAT}.")
    return n


class PromptQueue:
    """The queue of `repo` (its root path, as runs record it)."""

    def __init__(self, conn: sqlite3.Connection, repo: str) -> None:
        self.conn = conn
        self.repo = repo
        # The app renews a lease from a worker thread; one transaction at a time per connection.
        self._lock = threading.RLock()

    # -- plumbing -------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with transaction(self.conn) as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise StoreError(f"Updating the prompt queue failed: {exc}") from None

    def _rows(self, conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()) -> list[QueueItem]:
        rows = conn.execute(
            f"SELECT * FROM queue_items WHERE repo = ? {where} ORDER BY position, created_at, id",
            (self.repo, *params)).fetchall()
        runs: dict[str, list[sqlite3.Row]] = {}
        if rows:
            marks = ",".join("?" for _ in rows)
            for run in conn.execute(f"SELECT item_id, run_id FROM queue_runs WHERE item_id IN ({marks})"
                                    " ORDER BY id", tuple(row["id"] for row in rows)):
                runs.setdefault(run["item_id"], []).append(run)
        return [_item(row, runs.get(row["id"], [])) for row in rows]

    def _one(self, conn: sqlite3.Connection, item_id: str) -> QueueItem:
        found = self._rows(conn, "AND id = ?", (item_id,))
        if not found:
            raise UsageError(f"no queue item '{item_id}' in this repository", hint=_LIST_HINT)
        return found[0]

    # -- reading --------------------------------------------------------------

    def items(self, include_finished: bool = True) -> list[QueueItem]:
        with self._lock:
            listed = self._rows(self.conn)
        for number, item in enumerate(listed, start=1):
            item.number = number
        return [item for item in listed if include_finished or not item.finished]

    def get(self, id_or_prefix: str) -> QueueItem:
        """By id, a unique id prefix, or its number in the listing (`agent queue list`)."""
        key = id_or_prefix.strip()
        listed = self.items()
        if key.isdigit():
            number = int(key)
            if 1 <= number <= len(listed):
                return listed[number - 1]
            raise UsageError(f"no queue item number {number}: the queue has {len(listed)}", hint=_LIST_HINT)
        exact = [item for item in listed if item.id == key]
        matches = exact or [item for item in listed if key and item.id.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UsageError(f"no queue item '{key}' in this repository", hint=_LIST_HINT)
        ids = ", ".join(item.id for item in matches[:10])
        raise UsageError(f"'{key}' matches more than one queue item: {ids}", hint="Give more of the id.")

    def change_mark(self) -> int:
        """A number that changes when another connection (`agent queue add` in another terminal, a
        drainer) has written to the database: a cheap check before reading the queue again."""
        with self._lock:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    @property
    def paused(self) -> bool:
        return self.state().paused

    def state(self) -> QueueState:
        """Paused or not, and why when the drainer paused it."""
        with self._lock:
            row = self.conn.execute("SELECT paused, reason FROM queue_state WHERE repo = ?", (self.repo,)).fetchone()
        if not row or not row["paused"]:
            return QueueState(False)
        return QueueState(True, row["reason"] or "")

    def pending_count(self) -> int:
        """Items still to run (queued or running)."""
        with self._lock:
            row = self.conn.execute("SELECT COUNT(*) FROM queue_items WHERE repo = ? AND status IN"
                                    " ('queued', 'running')", (self.repo,)).fetchone()
        return int(row[0])

    # -- editing --------------------------------------------------------------

    def add(self, text: str, repeat: int = 1, now: float | None = None) -> QueueItem:
        text = text.strip()
        if not text:
            raise UsageError("the prompt is empty", hint='Say what to do, e.g. agent queue add "fix the tests".')
        check_repeat(repeat)
        when = time.time() if now is None else now
        item_id = new_id("q")
        with self._write() as conn:
            top = conn.execute("SELECT MAX(position) FROM queue_items WHERE repo = ?", (self.repo,)).fetchone()[0]
            database(conn)["queue_items"].insert(
                {"id": item_id, "repo": self.repo, "position": (top or 0) + 1, "text": redact(text),
                 "status": "queued", "repeat": repeat, "created_at": when, "updated_at": when})
            return self._one(conn, item_id)

    def edit(self, item_id: str, text: str) -> QueueItem:
        text = text.strip()
        if not text:
            raise UsageError("the new text is empty", hint="To drop the item, use `agent queue rm`.")
        with self._write() as conn:
            item = self._one(conn, self._id(item_id))
            _require_queued(item, "edited")
            conn.execute("UPDATE queue_items SET text = ?, updated_at = ? WHERE id = ?",
                         (redact(text), time.time(), item.id))
            return self._one(conn, item.id)

    def remove(self, item_id: str) -> None:
        with self._write() as conn:
            item = self._one(conn, self._id(item_id))
            if item.status == "running":
                raise UsageError(f"queue item {item.id} is running, so it cannot be removed",
                                 hint="Cancel its run first, or remove it once it has finished.")
            conn.execute("DELETE FROM queue_items WHERE id = ?", (item.id,))

    def move(self, item_id: str, where: str) -> QueueItem:
        """Move a queued item up or down (past the next pending item), to the top or the bottom
        of the queue, or to a number of the listing (`agent queue list`)."""
        if where not in MOVES and not where.isdigit():
            raise UsageError(f"cannot move an item '{where}'", hint=MOVE_HINT)
        with self._write() as conn:
            item = self._one(conn, self._id(item_id))
            _require_queued(item, "moved")
            if where not in ("up", "down"):
                listed = self._rows(conn)
                number = {"top": 1, "bottom": len(listed)}.get(where) or _number_in(where, len(listed))
                _place(conn, listed, item, number)
                return self._one(conn, item.id)
            pending = self._rows(conn, "AND status IN ('queued', 'running')")
            index = [p.id for p in pending].index(item.id)
            other = index - 1 if where == "up" else index + 1
            if 0 <= other < len(pending):
                _swap(conn, item, pending[other])
            return self._one(conn, item.id)

    def set_repeat(self, item_id: str, n: int) -> QueueItem:
        """Run the item `n` times in all (1..50); runs already finished count."""
        check_repeat(n)
        with self._write() as conn:
            item = self._one(conn, self._id(item_id))
            if item.finished:
                raise UsageError(f"queue item {item.id} has finished ({item.status})",
                                 hint="Queue the prompt again with `agent queue add`.")
            least = item.runs_done + (1 if item.status == "running" else 0)
            if n < max(least, 1):
                raise UsageError(f"queue item {item.id} has already run {plural(least, 'time')}, so repeat must be "
                                 f"at least {least}")
            conn.execute("UPDATE queue_items SET repeat = ?, updated_at = ? WHERE id = ?", (n, time.time(), item.id))
            return self._one(conn, item.id)

    def pause(self, reason: str = "") -> None:
        """Stop claiming; `reason` says why when the drainer pauses (empty: paused by hand)."""
        self._set_paused(True, redact(" ".join(reason.split()))[:MAX_REASON] or None)

    def resume(self) -> None:
        self._set_paused(False, None)

    def _set_paused(self, paused: bool, reason: str | None) -> None:
        with self._write() as conn:
            database(conn)["queue_state"].upsert(
                {"repo": self.repo, "paused": int(paused), "reason": reason, "updated_at": time.time()}, pk="repo")

    def _id(self, id_or_prefix: str) -> str:
        return self.get(id_or_prefix).id

    # -- draining -------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: float = DEFAULT_LEASE, now: float | None = None) -> QueueItem | None:
        """Take the first queued item (or a running one whose lease expired); None when paused or empty."""
        when = time.time() if now is None else now
        with self._write() as conn:
            paused = conn.execute("SELECT paused FROM queue_state WHERE repo = ?", (self.repo,)).fetchone()
            if paused and paused["paused"]:
                return None
            row = conn.execute(
                "SELECT id FROM queue_items WHERE repo = ? AND (status = 'queued' OR (status = 'running' AND"
                " (lease_expires IS NULL OR lease_expires <= ?))) ORDER BY position, created_at, id LIMIT 1",
                (self.repo, when)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE queue_items SET status = 'running', lease_owner = ?, lease_expires = ?,"
                         " updated_at = ? WHERE id = ?", (owner, when + lease_seconds, when, row["id"]))
            return self._one(conn, row["id"])

    def renew(self, item_id: str, owner: str, lease_seconds: float = DEFAULT_LEASE,
              now: float | None = None) -> bool:
        """Extend the lease; False when `owner` no longer holds it (it expired and was taken)."""
        when = time.time() if now is None else now
        with self._write() as conn:
            cursor = conn.execute("UPDATE queue_items SET lease_expires = ? WHERE id = ? AND status = 'running'"
                                  " AND lease_owner = ?", (when + lease_seconds, item_id, owner))
            return cursor.rowcount > 0

    def finish(self, item_id: str, owner: str, status: str, run_id: str | None,
               now: float | None = None) -> QueueItem | None:
        """Record one run of the item; it goes back to the queue while repeats are left.

        A failed run ends the item: repeating a prompt that fails would spend money on the
        same failure. None when the item was removed meanwhile.
        """
        if status not in ("done", "failed"):
            raise UsageError(f"a queue item finishes as done or failed, not '{status}'")
        when = time.time() if now is None else now
        with self._write() as conn:
            row = conn.execute("SELECT * FROM queue_items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                return None
            database(conn)["queue_runs"].insert(
                {"item_id": item_id, "run_id": run_id, "owner": owner, "status": status, "finished_at": when})
            if row["status"] == "running" and row["lease_owner"] == owner:
                item = self._one(conn, item_id)
                again = status == "done" and item.runs_done < item.repeat
                conn.execute("UPDATE queue_items SET status = ?, lease_owner = NULL, lease_expires = NULL,"
                             " updated_at = ? WHERE id = ?", ("queued" if again else status, when, item_id))
            return self._one(conn, item_id)

    def release(self, item_id: str, owner: str) -> bool:
        """Give a claimed item back, unrun (a cancel, a busy repository); False if not held."""
        with self._write() as conn:
            cursor = conn.execute("UPDATE queue_items SET status = 'queued', lease_owner = NULL, lease_expires = NULL,"
                                  " updated_at = ? WHERE id = ? AND status = 'running' AND lease_owner = ?",
                                  (time.time(), item_id, owner))
            return cursor.rowcount > 0


def _item(row: sqlite3.Row, runs: list[sqlite3.Row]) -> QueueItem:
    return QueueItem(id=row["id"], repo=row["repo"], position=row["position"], text=row["text"],
                     status=row["status"], repeat=row["repeat"],
                     run_ids=[run["run_id"] for run in runs if run["run_id"]], runs_done=len(runs),
                     lease_owner=row["lease_owner"], lease_expires=row["lease_expires"],
                     created_at=row["created_at"], updated_at=row["updated_at"])


def _require_queued(item: QueueItem, what: str) -> None:
    if item.status != "queued":
        raise UsageError(f"queue item {item.id} is {item.status}; only queued items can be {what}",
                         hint=_LIST_HINT)


def _number_in(text: str, count: int) -> int:
    number = int(text)
    if not 1 <= number <= count:
        raise UsageError(f"no place number {number}: the queue has {plural(count, 'item')}", hint=MOVE_HINT)
    return number


def _place(conn: sqlite3.Connection, listed: list[QueueItem], item: QueueItem, number: int) -> None:
    """Put `item` at `number` (1-based) of the listing; the others keep their order."""
    order = [other.id for other in listed if other.id != item.id]
    order.insert(number - 1, item.id)
    for position, item_id in enumerate(order):
        conn.execute("UPDATE queue_items SET position = ? WHERE id = ?", (position, item_id))


def _swap(conn: sqlite3.Connection, a: QueueItem, b: QueueItem) -> None:
    # Positions are distinct (add takes max + 1, top takes min - 1), so swapping reorders.
    conn.execute("UPDATE queue_items SET position = ? WHERE id = ?", (b.position, a.id))
    conn.execute("UPDATE queue_items SET position = ? WHERE id = ?", (a.position, b.id))
