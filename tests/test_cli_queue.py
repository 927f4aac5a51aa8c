"""`agent queue ...` end to end: editing the queue, and draining it (in one process and in two)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tests.conftest import run_agent_subprocess, write_cassette
from tests.fakes.anthropic_server import message, tool_use_block


def q(cli, repo: Path, tmp_path: Path, *args: str):
    return cli("queue", *args, "--db", str(tmp_path / "once.db"), cwd=repo)


def listed(cli, repo: Path, tmp_path: Path) -> dict:
    result = q(cli, repo, tmp_path, "list", "-o", "json")
    assert result.code == 0, result.stderr
    return result.json()


def test_add_list_move_edit_remove(cli, repo, tmp_path):
    for text in ("first", "second", "third"):
        assert q(cli, repo, tmp_path, "add", text).code == 0
    result = q(cli, repo, tmp_path, "list")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines] == ["first", "second", "third"]
    assert lines[0].split()[0] == "1" and "queued" in lines[0]

    assert q(cli, repo, tmp_path, "move", "3", "top").code == 0
    assert q(cli, repo, tmp_path, "move", "1", "down").code == 0
    assert [i["text"] for i in listed(cli, repo, tmp_path)["items"]] == ["first", "third", "second"]

    ids = [i["id"] for i in listed(cli, repo, tmp_path)["items"]]
    edited = q(cli, repo, tmp_path, "edit", ids[1][:-1], "third, reworded", "--json")
    assert edited.code == 0 and edited.json()["text"] == "third, reworded"
    removed = q(cli, repo, tmp_path, "rm", "1", "3")
    assert removed.code == 0 and f"removed {ids[0]}" in removed.stdout and f"removed {ids[2]}" in removed.stdout
    assert [i["text"] for i in listed(cli, repo, tmp_path)["items"]] == ["third, reworded"]


def test_bad_input_is_a_clear_usage_error(cli, repo, tmp_path):
    q(cli, repo, tmp_path, "add", "only")
    for args in (("repeat", "1", "0"), ("repeat", "1", "51"), ("add", "--repeat", "51", "x")):
        result = q(cli, repo, tmp_path, *args)
        assert result.code == 2 and "repeat must be a whole number from 1 to 50" in result.stderr
        assert "Traceback" not in result.stderr
    assert q(cli, repo, tmp_path, "move", "1", "sideways").code == 2
    missing = q(cli, repo, tmp_path, "rm", "7")
    assert missing.code == 2 and "no queue item number 7" in missing.stderr
    assert q(cli, repo, tmp_path, "add", "   ").code == 2
    assert [i["repeat"] for i in listed(cli, repo, tmp_path)["items"]] == [1]
    assert q(cli, repo, tmp_path, "repeat", "1", "4").code == 0
    assert [i["repeat"] for i in listed(cli, repo, tmp_path)["items"]] == [4]


def test_queue_outside_a_repository_is_refused(cli, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = cli("queue", "list", "--db", str(tmp_path / "once.db"), cwd=plain)
    assert result.code == 2 and "git" in result.stderr.lower()


def test_run_drains_in_order_repeats_and_links_each_run(cli, repo, tmp_path):
    q(cli, repo, tmp_path, "add", "first")
    q(cli, repo, tmp_path, "add", "--repeat", "2", "second")
    cassette = write_cassette(tmp_path / "c.json", [message("one"), message("two"), message("three")])
    result = q(cli, repo, tmp_path, "run", "--replay", str(cassette), "-o", "json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["stopped"] == "empty"
    assert [(i["text"], i["outcome"]) for i in report["items"]] == [
        ("first", "done"), ("second", "done"), ("second", "done")]
    items = listed(cli, repo, tmp_path)["items"]
    assert [(i["status"], len(i["run_ids"])) for i in items] == [("done", 1), ("done", 2)]
    with sqlite3.connect(tmp_path / "once.db") as conn:
        runs = dict(conn.execute("SELECT id, prompt FROM runs").fetchall())
    conn.close()
    assert runs[items[0]["run_id"]] == "first"
    assert [runs[r] for r in items[1]["run_ids"]] == ["second", "second"]


def test_run_reports_a_failed_item_with_exit_1_and_goes_on(cli, repo, tmp_path):
    q(cli, repo, tmp_path, "add", "works")
    q(cli, repo, tmp_path, "add", "runs out of cassette")
    cassette = write_cassette(tmp_path / "c.json", [message("fine")])
    result = q(cli, repo, tmp_path, "run", "--replay", str(cassette))
    assert result.code == 1
    assert result.stdout.splitlines()[0].startswith("done ") and result.stdout.splitlines()[1].startswith("failed ")
    assert [i["status"] for i in listed(cli, repo, tmp_path)["items"]] == ["done", "failed"]


def test_a_paused_queue_does_not_run_until_resumed(cli, repo, tmp_path):
    q(cli, repo, tmp_path, "add", "later")
    assert "paused" in q(cli, repo, tmp_path, "pause").stdout
    assert listed(cli, repo, tmp_path)["paused"] is True
    cassette = write_cassette(tmp_path / "c.json", [message("ok")])
    result = q(cli, repo, tmp_path, "run", "--replay", str(cassette))
    assert result.code == 0 and "nothing to run (paused)" in result.stderr
    assert listed(cli, repo, tmp_path)["items"][0]["status"] == "queued"
    q(cli, repo, tmp_path, "resume")
    assert q(cli, repo, tmp_path, "run", "--replay", str(cassette)).code == 0
    assert listed(cli, repo, tmp_path)["items"][0]["status"] == "done"


def test_two_processes_draining_one_queue_run_each_item_once(cli, repo, tmp_path):
    count = 6
    for n in range(count):
        q(cli, repo, tmp_path, "add", f"task {n}")
    # Each item runs a short command, so the two drainers overlap and contend for the repository.
    responses = []
    for n in range(count):
        responses += [message([tool_use_block(f"t{n}", "run_command", {"command": "sleep 0.2"})]),
                      message(f"finished {n}")]
    cassette = write_cassette(tmp_path / "c.json", responses)
    args = ("queue", "run", "--replay", str(cassette), "--db", str(tmp_path / "once.db"),
            "--permission-mode", "full-auto")
    results: list = [None, None]

    def drain(index: int) -> None:
        results[index] = run_agent_subprocess(*args, cwd=repo, timeout=120)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    for proc in results:
        assert proc is not None and proc.returncode == 0, proc and proc.stderr
    done_lines = [line for proc in results for line in proc.stdout.splitlines() if line.startswith("done")]
    assert len(done_lines) == count
    with sqlite3.connect(tmp_path / "once.db") as conn:
        per_item = conn.execute("SELECT item_id, COUNT(*) FROM queue_runs GROUP BY item_id").fetchall()
        prompts = [row[0] for row in conn.execute("SELECT prompt FROM runs")]
    conn.close()
    assert len(per_item) == count and all(n == 1 for _, n in per_item)
    assert sorted(prompts) == sorted(f"task {n}" for n in range(count))
    assert all(i["status"] == "done" for i in listed(cli, repo, tmp_path)["items"])


def test_an_item_left_running_by_a_crashed_drainer_is_taken_after_its_lease(cli, repo, tmp_path):
    import time

    from once.queue.store import PromptQueue
    from once.store import open_store

    q(cli, repo, tmp_path, "add", "orphan")
    q(cli, repo, tmp_path, "add", "fresh")
    with open_store(str(tmp_path / "once.db")) as store:
        queue = PromptQueue(store.conn, str(repo.resolve()))
        assert queue.claim("crashed", lease_seconds=30, now=time.time() - 60) is not None  # its lease ran out
    assert [i["status"] for i in listed(cli, repo, tmp_path)["items"]] == ["running", "queued"]
    cassette = write_cassette(tmp_path / "c.json", [message("one"), message("two")])
    result = q(cli, repo, tmp_path, "run", "--replay", str(cassette), "-o", "json")
    assert result.code == 0, result.stderr
    assert [i["text"] for i in result.json()["items"]] == ["orphan", "fresh"]
    assert [i["status"] for i in listed(cli, repo, tmp_path)["items"]] == ["done", "done"]


def test_a_live_lease_is_left_alone(cli, repo, tmp_path):
    from once.queue.store import PromptQueue
    from once.store import open_store

    q(cli, repo, tmp_path, "add", "someone else's")
    with open_store(str(tmp_path / "once.db")) as store:
        assert PromptQueue(store.conn, str(repo.resolve())).claim("alive", lease_seconds=600) is not None
    cassette = write_cassette(tmp_path / "c.json", [message("never")])
    result = q(cli, repo, tmp_path, "run", "--replay", str(cassette))
    assert result.code == 0 and "nothing to run (empty)" in result.stderr
    assert listed(cli, repo, tmp_path)["items"][0]["lease_owner"] == "alive"
