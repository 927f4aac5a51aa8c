"""Routing vent news (a new group, a spike, a regression) to a webhook, never blocking the agent.

Payloads are queued in `vent_outbox` in the same database, then delivered: at once in a
daemon thread with a short timeout, and again by the next run or `agent vent` command for
whatever is still due. A failed attempt is retried with exponential backoff, a bounded
number of times. The body is JSON with a Slack-compatible `text` field.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from once.safety.redact import redact, redact_obj
from once.store.db import transaction

Post = Callable[[str, bytes, float], int]
"""(url, body, timeout) -> HTTP status; raises OSError when the server cannot be reached."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0
    """Seconds before the second attempt; doubled for each one after."""
    timeout: float = 3.0
    """Seconds one attempt may take."""


@dataclass(frozen=True)
class FlushResult:
    delivered: int = 0
    failed: int = 0
    """Attempts that failed in this flush (the payload may be retried later)."""
    pending: int = 0
    """Payloads still queued for a later attempt."""
    next_at: float | None = None
    """When the earliest pending payload is due."""


def http_post(url: str, body: bytes, timeout: float) -> int:
    import urllib.error  # lazy: urllib.request pulls in http, email and ssl; most runs post nothing
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "once-vent"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the user's own URL)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def enqueue(conn: sqlite3.Connection, key: str, payload: dict[str, Any], now: float) -> bool:
    """Queue `payload` once per `key`; False when that key was queued before."""
    body = json.dumps(redact_obj(payload), ensure_ascii=False, default=str)
    with transaction(conn):
        cursor = conn.execute(
            "INSERT OR IGNORE INTO vent_outbox (key, payload, next_at, created_at) VALUES (?, ?, ?, ?)",
            (key, body, now, now))
    return cursor.rowcount > 0


def _attempt(post: Post, url: str, body: str, timeout: float) -> str:
    """'' on success, else what went wrong."""
    try:
        status = post(url, body.encode("utf-8"), timeout)
    except (OSError, ValueError) as exc:  # refused, timed out, bad URL
        return f"{type(exc).__name__}: {exc}"
    return "" if 200 <= status < 300 else f"HTTP {status}"


def flush(conn: sqlite3.Connection, url: str, *, now: float, post: Post = http_post,
          policy: RetryPolicy = RetryPolicy()) -> FlushResult:
    """Try every due payload once; reschedule failures with backoff, give up after max_attempts."""
    rows = conn.execute(
        "SELECT id, payload, attempts FROM vent_outbox WHERE delivered_at IS NULL AND gave_up = 0 AND next_at <= ? "
        "ORDER BY id", (now,)).fetchall()
    delivered = failed = 0
    for row in rows:
        error = _attempt(post, url, row["payload"], policy.timeout)
        attempts = row["attempts"] + 1
        with transaction(conn):
            if not error:
                conn.execute("UPDATE vent_outbox SET attempts = ?, delivered_at = ?, last_error = '' WHERE id = ?",
                             (attempts, now, row["id"]))
                delivered += 1
                continue
            failed += 1
            conn.execute(
                "UPDATE vent_outbox SET attempts = ?, next_at = ?, last_error = ?, gave_up = ? WHERE id = ?",
                (attempts, now + policy.base_delay * 2 ** (attempts - 1), redact(error)[:500],
                 int(attempts >= policy.max_attempts), row["id"]))
    pending = conn.execute(
        "SELECT COUNT(*), MIN(next_at) FROM vent_outbox WHERE delivered_at IS NULL AND gave_up = 0").fetchone()
    return FlushResult(delivered=delivered, failed=failed, pending=pending[0], next_at=pending[1])


def deliver(conn: sqlite3.Connection, url: str, *, within: float, clock: Callable[[], float] = time.time,
            sleep: Callable[[float], None] = time.sleep, post: Post = http_post,
            policy: RetryPolicy = RetryPolicy()) -> FlushResult:
    """Flush, waiting for retries that fall due within `within` seconds; later ones stay queued."""
    deadline = clock() + within
    total_delivered = total_failed = 0
    while True:
        result = flush(conn, url, now=clock(), post=post, policy=policy)
        total_delivered += result.delivered
        total_failed += result.failed
        if not result.pending or result.next_at is None or result.next_at > deadline:
            return FlushResult(total_delivered, total_failed, result.pending, result.next_at)
        sleep(max(0.0, result.next_at - clock()))


def deliver_in_background(db_path: Path, url: str, *, within: float = 20.0,
                          policy: RetryPolicy = RetryPolicy(base_delay=1.0)) -> threading.Thread:
    """Deliver from a daemon thread with its own connection; failures stay queued, never raised."""
    def work() -> None:
        from once.store.db import connect

        try:
            conn = connect(db_path)
        except Exception:  # the agent goes on; the next command flushes
            return
        try:
            deliver(conn, url, within=within, policy=policy)
        except Exception:  # noqa: BLE001 - a webhook must never take the agent down
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=work, name="once-vent-webhook", daemon=True)
    thread.start()
    return thread


def outbox(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every queued payload and how its delivery stands (for `agent vent stats`)."""
    rows = conn.execute("SELECT key, attempts, last_error, delivered_at, gave_up, next_at FROM vent_outbox "
                        "ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def payload(kind: str, text: str, group: dict[str, Any], version: str, **extra: Any) -> dict[str, Any]:
    """A webhook body: Slack shows `text`; other receivers read the structured fields."""
    return {"text": text, "kind": kind, "group": group, "once_version": version, **extra}
