"""The persisted prompt queue: order, moves, edits, repeats, pause, and leases between processes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from once.errors import UsageError
from once.queue.drain import Attempt, drain
from once.queue.store import PromptQueue
from once.store import open_store


@pytest.fixture
def store(tmp_path: Path):
    with open_store(str(tmp_path / "q.db")) as opened:
        yield opened


@pytest.fixture
def queue(store) -> PromptQueue:
    return PromptQueue(store.conn, "/repo/a")


def texts(queue: PromptQueue, include_finished: bool = True) -> list[str]:
    return [item.text for item in queue.items(include_finished)]


def test_items_keep_the_order_they_were_added_and_are_per_repo(store, queue):
    for text in ("one", "two", "three"):
        queue.add(text)
    other = PromptQueue(store.conn, "/repo/b")
    other.add("elsewhere")
    assert texts(queue) == ["one", "two", "three"]
    assert [item.number for item in queue.items()] == [1, 2, 3]
    assert texts(other) == ["elsewhere"]
    assert all(item.status == "queued" and item.repeat == 1 for item in queue.items())


def test_move_up_down_and_top(queue):
    a, b, c = (queue.add(text) for text in ("a", "b", "c"))
    queue.move(c.id, "up")
    assert texts(queue) == ["a", "c", "b"]
    queue.move(a.id, "down")
    assert texts(queue) == ["c", "a", "b"]
    queue.move(b.id, "top")
    assert texts(queue) == ["b", "c", "a"]
    queue.move(b.id, "up")  # already first: stays
    queue.move(a.id, "down")  # already last: stays
    assert texts(queue) == ["b", "c", "a"]
    with pytest.raises(UsageError, match="cannot move") as refused:
        queue.move(a.id, "sideways")
    assert refused.value.hint is not None and "up, down, top, bottom, or the number" in refused.value.hint


def test_move_to_a_number_or_the_bottom(queue):
    a, b, c, d = (queue.add(text) for text in ("a", "b", "c", "d"))
    queue.move(c.id, "1")  # `agent queue move 3 1`: the third item becomes the first
    assert texts(queue) == ["c", "a", "b", "d"]
    queue.move(c.id, "3")
    assert texts(queue) == ["a", "b", "c", "d"]
    queue.move(a.id, "bottom")
    assert texts(queue) == ["b", "c", "d", "a"]
    assert [item.number for item in queue.items()] == [1, 2, 3, 4]
    with pytest.raises(UsageError, match="no place number 5: the queue has 4 items"):
        queue.move(b.id, "5")
    with pytest.raises(UsageError, match="no place number 0"):
        queue.move(b.id, "0")


def test_moves_skip_finished_items(queue):
    done, a, b = (queue.add(text) for text in ("done", "a", "b"))
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == done.id
    queue.finish(done.id, "w", "done", "r-1")
    queue.move(a.id, "up")  # nothing pending above a: unchanged
    assert texts(queue, include_finished=False) == ["a", "b"]
    queue.move(b.id, "up")
    assert texts(queue, include_finished=False) == ["b", "a"]


def test_edit_and_remove_queued_items_only(queue):
    a, b = queue.add("a"), queue.add("b")
    assert queue.edit(a.id, "  a, better ").text == "a, better"
    with pytest.raises(UsageError, match="empty"):
        queue.edit(a.id, "   ")
    running = queue.claim("w")
    assert running is not None and running.id == a.id
    with pytest.raises(UsageError, match="only queued items can be edited"):
        queue.edit(a.id, "x")
    with pytest.raises(UsageError, match="running"):
        queue.remove(a.id)
    queue.remove(b.id)
    assert texts(queue) == ["a, better"]


def test_get_by_number_id_and_prefix(queue):
    a, b = queue.add("a"), queue.add("b")
    assert queue.get("2").id == b.id
    assert queue.get(a.id).id == a.id
    assert queue.get(a.id[:-1]).id == a.id
    with pytest.raises(UsageError, match="more than one"):
        queue.get("q-")
    with pytest.raises(UsageError, match="number 3"):
        queue.get("3")
    with pytest.raises(UsageError, match="no queue item"):
        queue.get("q-nothing")


@pytest.mark.parametrize("bad", [0, 51, -1, True, 2.5])
def test_repeat_outside_one_to_fifty_is_refused_clearly(queue, bad):
    item = queue.add("a")
    with pytest.raises(UsageError, match="from 1 to 50"):
        queue.set_repeat(item.id, bad)
    with pytest.raises(UsageError, match="from 1 to 50"):
        queue.add("b", repeat=bad)
    assert queue.get(item.id).repeat == 1


def test_repeat_requeues_until_used_and_records_each_run(queue):
    item = queue.add("again", repeat=1)
    assert queue.set_repeat(item.id, 3).repeat == 3
    runs = []
    while (claimed := queue.claim("w")) is not None:
        runs.append(f"r-{len(runs)}")
        queue.finish(claimed.id, "w", "done", runs[-1])
    final = queue.get(item.id)
    assert final.status == "done" and final.runs_done == 3 and final.run_ids == runs and final.run_id == "r-2"
    with pytest.raises(UsageError, match="finished"):
        queue.set_repeat(item.id, 5)


def test_a_failed_run_ends_the_repeats(queue):
    item = queue.add("flaky", repeat=4)
    claimed = queue.claim("w")
    assert claimed is not None
    assert queue.finish(item.id, "w", "failed", "r-1").status == "failed"
    assert queue.claim("w") is None


def test_repeat_cannot_go_below_the_runs_already_made(queue):
    item = queue.add("a", repeat=3)
    queue.claim("w")
    queue.finish(item.id, "w", "done", "r-1")
    queue.claim("w")  # the second run is under way
    with pytest.raises(UsageError, match="at least 2"):
        queue.set_repeat(item.id, 1)
    assert queue.set_repeat(item.id, 2).repeat == 2


def test_pause_stops_claims_and_resume_lets_them_through(store, queue):
    queue.add("a")
    queue.pause()
    assert queue.paused and PromptQueue(store.conn, "/repo/a").paused
    assert not PromptQueue(store.conn, "/repo/b").paused
    assert queue.claim("w") is None
    queue.resume()
    assert not queue.paused
    claimed = queue.claim("w")
    assert claimed is not None and claimed.status == "running" and claimed.lease_owner == "w"


def test_a_lease_keeps_others_out_until_it_expires(queue):
    item = queue.add("a")
    first = queue.claim("one", lease_seconds=10, now=1000.0)
    assert first is not None and first.lease_expires == 1010.0
    assert queue.claim("two", now=1009.0) is None
    assert queue.renew(item.id, "one", 10, now=1009.0)
    assert queue.claim("two", now=1015.0) is None  # renewed until 1019
    taken = queue.claim("two", lease_seconds=10, now=1019.5)  # "one" crashed: its lease ran out
    assert taken is not None and taken.id == item.id and taken.lease_owner == "two"
    assert not queue.renew(item.id, "one", 10, now=1020.0)
    # The late finisher's run is recorded, but the item stays with its new owner.
    assert queue.finish(item.id, "one", "done", "r-late").status == "running"
    assert queue.finish(item.id, "two", "done", "r-two").status == "done"
    assert queue.get(item.id).run_ids == ["r-late", "r-two"]


def test_release_puts_the_item_back_in_its_place(queue):
    a, b = queue.add("a"), queue.add("b")
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == a.id
    assert queue.claim("w2") is not None and queue.get(b.id).lease_owner == "w2"  # b is next, a is held
    assert not queue.release(a.id, "someone else")
    assert queue.release(a.id, "w")
    again = queue.claim("w")
    assert again is not None and again.id == a.id and again.runs_done == 0


def test_stored_text_is_redacted(queue, store):
    key = "sk-ant-api03-" + "A" * 90
    queue.add(f"use the key {key} to deploy")
    raw = store.conn.execute("SELECT text FROM queue_items").fetchone()[0]
    assert key not in raw and "use the key" in raw


def test_two_threads_claiming_never_share_an_item(tmp_path):
    with open_store(str(tmp_path / "q.db")) as seed:
        queue = PromptQueue(seed.conn, "/r")
        for n in range(30):
            queue.add(f"item {n}")
    taken: list[list[str]] = [[], []]

    def worker(index: int) -> None:
        with open_store(str(tmp_path / "q.db")) as mine:
            q = PromptQueue(mine.conn, "/r")
            while (item := q.claim(f"w{index}")) is not None:
                taken[index].append(item.id)
                q.finish(item.id, f"w{index}", "done", None)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = taken[0] + taken[1]
    assert len(everything) == 30 and len(set(everything)) == 30


def test_drain_runs_in_order_links_runs_and_stops_when_paused(queue):
    for text in ("a", "b", "c"):
        queue.add(text)
    seen: list[str] = []

    def run_item(item):
        seen.append(item.text)
        if item.text == "b":
            queue.pause()  # paused mid-run: b finishes, c waits
            return Attempt("failed", "r-b")
        return Attempt("done", f"r-{item.text}")

    report = drain(queue, run_item, owner="w", wait=lambda s: None)
    assert seen == ["a", "b"] and report.stopped == "paused"
    assert [item.text for item, _ in report.failed] == ["b"]
    assert [(i.status, i.run_id) for i in queue.items()] == [("done", "r-a"), ("failed", "r-b"), ("queued", None)]


def test_drain_gives_back_cancelled_and_busy_items(queue):
    queue.add("a")
    outcomes = iter(["busy", "cancelled"])
    report = drain(queue, lambda item: Attempt(next(outcomes)), owner="w", wait=lambda s: None)
    assert report.stopped == "cancelled" and report.finished == []
    assert [item.status for item in queue.items()] == ["queued"]


def test_drain_renews_the_lease_while_an_item_runs(queue):
    item = queue.add("slow")
    expiries: list[float | None] = []

    def run_item(claimed):
        expiries.append(queue.get(claimed.id).lease_expires)
        threading.Event().wait(0.25)  # several renewals at lease 0.15s / 3
        expiries.append(queue.get(claimed.id).lease_expires)
        return Attempt("done", "r-1")

    drain(queue, run_item, owner="w", lease_seconds=0.15)
    assert expiries[1] > expiries[0]
    assert queue.get(item.id).status == "done"


def test_a_pause_keeps_its_reason_redacted_until_resumed(store, queue):
    queue.pause("the provider refused the key sk-ant-api03-" + "a" * 40)
    state = PromptQueue(store.conn, queue.repo).state()  # as another reader sees it
    assert state.paused and state.reason.startswith("the provider refused the key")
    assert "a" * 40 not in state.reason
    queue.resume()
    assert queue.state() == type(state)(False, "")
    queue.pause()
    assert queue.state().paused and queue.state().reason == ""


def test_retry_delay_honours_retry_after_and_otherwise_doubles_up_to_the_cap():
    from once.queue.backoff import RetryPolicy, gives_up, retry_delay

    policy = RetryPolicy(limit=3, max_delay=12.0, base_delay=2.0)
    assert [retry_delay(n, None, policy) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 12.0]
    assert retry_delay(3, 0.5, policy) == 0.5  # the server knows its load
    assert retry_delay(1, 600.0, policy) == 12.0  # but never an unbounded wait
    assert retry_delay(1, -1.0, policy) == 0.0
    assert [gives_up(n, policy) for n in (1, 2, 3)] == [False, False, True]


def test_an_interrupted_wait_gives_the_item_back_and_stops(queue):
    from once.queue.backoff import RetryPolicy

    item = queue.add("overloaded")

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    report = drain(queue, lambda i: Attempt("overloaded", None, "HTTP 529", 1.0), owner="me", wait=interrupted,
                   retry=RetryPolicy(limit=3))
    assert report.stopped == "cancelled" and report.finished == []
    again = queue.get(item.id)
    assert again.status == "queued" and again.lease_owner is None and not queue.paused
