"""Webhook routing: payloads are queued, delivered to a local server, retried with backoff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from once.store import open_store
from once.vent.service import file_and_queue
from once.vent.store import NewReport
from once.vent.webhook import RetryPolicy, deliver, deliver_in_background, enqueue, flush, outbox
from tests.fakes.webhook_server import Hook

FAKE_KEY = "sk-ant-api03-" + "b" * 40


@pytest.fixture
def hook_factory() -> Iterator:
    hooks: list[Hook] = []

    def make(statuses: list[int]) -> Hook:
        hook = Hook(statuses)
        hook.thread.start()
        hooks.append(hook)
        return hook

    yield make
    for hook in hooks:
        hook.close()


@pytest.fixture
def conn(tmp_path: Path):
    with open_store(str(tmp_path / "once.db")) as store:
        yield store.conn


def test_first_attempt_500_then_200_is_delivered_once_with_backoff(conn, hook_factory):
    hook = hook_factory([500, 200])
    assert enqueue(conn, "group:g1", {"text": "new problem", "kind": "new_group"}, now=0.0)
    assert not enqueue(conn, "group:g1", {"text": "again"}, now=0.0)  # same key: queued once
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    result = deliver(conn, hook.url, within=60.0, clock=lambda: clock[0], sleep=sleep,
                     policy=RetryPolicy(base_delay=2.0, timeout=2.0))
    assert (result.delivered, result.failed, result.pending) == (1, 1, 0)
    assert slept == [2.0]
    assert [b["text"] for b in hook.bodies] == ["new problem", "new problem"]
    [row] = outbox(conn)
    assert row["attempts"] == 2 and row["delivered_at"] == 102.0 and row["last_error"] == ""


def test_retries_are_bounded_and_an_unreachable_server_never_raises(conn, hook_factory):
    hook = hook_factory([500] * 10)
    enqueue(conn, "spike:g1:1", {"text": "spike"}, now=0.0)
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, timeout=2.0)
    now = 0.0
    for _ in range(6):
        result = flush(conn, hook.url, now=now, policy=policy)
        now += 100.0
    assert len(hook.bodies) == 3 and result.pending == 0
    [row] = outbox(conn)
    assert row["gave_up"] == 1 and row["last_error"] == "HTTP 500"
    enqueue(conn, "spike:g2:1", {"text": "spike"}, now=now)
    dead = flush(conn, "http://127.0.0.1:9/nothing-listens", now=now, policy=policy)
    assert dead.failed == 1 and dead.pending == 1  # queued for the next run or command


def test_background_delivery_with_news_from_filing(tmp_path, hook_factory):
    hook = hook_factory([200])
    db = tmp_path / "once.db"
    with open_store(str(db)) as store:
        file_and_queue(store.conn, NewReport(category="missing_tool", message=f"no fetch tool; key {FAKE_KEY}",
                                             run_id="r1", ts=1000.0), queue_news=True)
    thread = deliver_in_background(db, hook.url, within=5.0)
    thread.join(10)
    assert not thread.is_alive()
    [body] = hook.bodies
    assert body["kind"] == "new_group" and body["text"].startswith("once vent: new problem [missing_tool]")
    assert FAKE_KEY not in json.dumps(body)
    assert body["group"]["report_count"] == 1


def test_a_spike_is_queued_once_per_group_and_day(tmp_path):
    day = 86_400.0
    with open_store(str(tmp_path / "once.db")) as store:
        base = 30 * day
        for d in range(7):  # a quiet week: one report a day
            file_and_queue(store.conn, NewReport(category="broken_behavior", tool="search",
                                                 message="search times out on large repositories",
                                                 run_id=f"q{d}", ts=base + d * day), queue_news=True)
        for i in range(8):  # then eight in one day
            file_and_queue(store.conn, NewReport(category="broken_behavior", tool="search",
                                                 message="search times out on large repositories",
                                                 run_id=f"s{i}", ts=base + 7 * day + i), queue_news=True)
        keys = [row["key"] for row in outbox(store.conn)]
    assert sum(k.startswith("group:") for k in keys) == 1
    assert [k.split(":")[0] for k in keys if k.startswith("spike:")] == ["spike"]
