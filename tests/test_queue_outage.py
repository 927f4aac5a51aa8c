"""Draining the queue while the model provider refuses the key, is overloaded or rate limits.

The real provider code runs against the fake servers on 127.0.0.1; waits are kept short
with small retry-after values.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from once.agent.permissions import HEADLESS_DEFAULT
from once.cli.queue_run import ItemRunner
from once.config import load_settings
from once.providers.openai import OpenAIProvider
from once.queue.backoff import RetryPolicy
from once.queue.drain import drain
from once.queue.store import PromptQueue
from once.store import open_store
from once.vcs import GitRepo
from tests.fakes import openai_server
from tests.fakes.anthropic_server import (
    SMALL_MODEL, FakeAnthropicServer, Status, by_model, main_requests, message,
)


@pytest.fixture
def anthropic_env(monkeypatch):
    def use(server: FakeAnthropicServer) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)

    return use


def q(cli, repo: Path, tmp_path: Path, *args: str):
    return cli("queue", *args, "--db", str(tmp_path / "once.db"), cwd=repo)


def listed(cli, repo: Path, tmp_path: Path) -> dict:
    result = q(cli, repo, tmp_path, "list", "-o", "json")
    assert result.code == 0, result.stderr
    return result.json()


def run_rows(tmp_path: Path) -> list[tuple[str, int, int, float]]:
    with sqlite3.connect(tmp_path / "once.db") as conn:
        rows = conn.execute("SELECT status, input_tokens, output_tokens, cost_usd FROM runs"
                            " ORDER BY started_at").fetchall()
    conn.close()
    return rows


def test_identical_items_each_count_only_their_own_usage(cli, repo, tmp_path, anthropic_env):
    for _ in range(3):
        q(cli, repo, tmp_path, "add", "say hello")
    with FakeAnthropicServer([], fallback=by_model([message("hello")] * 3)) as server:
        anthropic_env(server)
        result = q(cli, repo, tmp_path, "run", "-o", "json")
        small_calls = [r for r in server.message_requests if r.body.get("model") == SMALL_MODEL]
    assert result.code == 0, result.stderr
    assert small_calls, "the small model must be asked, or the test proves nothing"
    rows = run_rows(tmp_path)
    assert [row[0] for row in rows] == ["done"] * 3
    assert rows[0][1] > 10  # the main call's 10 input tokens plus the small model's
    assert rows[0][1:] == rows[1][1:] == rows[2][1:]


def test_a_refused_key_pauses_the_queue_with_the_reason_and_keeps_the_item(cli, repo, tmp_path, anthropic_env):
    q(cli, repo, tmp_path, "add", "first")
    q(cli, repo, tmp_path, "add", "second")
    with FakeAnthropicServer([], fallback=Status(401)) as server:
        anthropic_env(server)
        result = q(cli, repo, tmp_path, "run")
        asked = {r.body.get("model") for r in server.message_requests}
    assert result.code == 3, result.stderr
    assert "Traceback" not in result.stderr and "paused" in result.stderr
    state = listed(cli, repo, tmp_path)
    assert state["paused"] is True and "401" in state["pause_reason"]
    assert "ANTHROPIC_API_KEY" in state["pause_reason"]
    assert [(i["status"], i["runs_done"]) for i in state["items"]] == [("queued", 0), ("queued", 0)]
    assert asked  # it did try
    text = q(cli, repo, tmp_path, "list").stdout
    assert "paused (the model provider refused the credentials" in text

    # Once the key works, resuming drains both items.
    q(cli, repo, tmp_path, "resume")
    assert listed(cli, repo, tmp_path)["pause_reason"] is None
    with FakeAnthropicServer([], fallback=by_model([message("one"), message("two")])) as server:
        anthropic_env(server)
        again = q(cli, repo, tmp_path, "run")
    assert again.code == 0, again.stderr
    assert [i["status"] for i in listed(cli, repo, tmp_path)["items"]] == ["done", "done"]


def test_an_overload_with_retry_after_is_waited_out_and_the_same_item_retried(cli, repo, tmp_path, anthropic_env):
    q(cli, repo, tmp_path, "add", "first")
    q(cli, repo, tmp_path, "add", "second")
    # Three 529s: the first request and the SDK's own two retries; then the queue waits.
    overloaded = Status(529, headers={"retry-after-ms": "300"})
    with FakeAnthropicServer([], fallback=by_model([overloaded] * 3 + [message("one"), message("two")])) as server:
        anthropic_env(server)
        started = time.monotonic()
        result = q(cli, repo, tmp_path, "run", "-o", "json")
        took = time.monotonic() - started
        prompts = [r.body["messages"][0]["content"][-1]["text"] for r in main_requests(server)]
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["stopped"] == "empty" and report["reason"] is None
    assert [(i["text"], i["outcome"]) for i in report["items"]] == [("first", "done"), ("second", "done")]
    assert prompts[:4] == ["first"] * 4 and prompts[4] == "second"  # the same item again, then the next
    assert took >= 0.3 * 3  # two SDK retries and the queue's own wait each honoured the 0.3 s
    state = listed(cli, repo, tmp_path)
    assert state["paused"] is False
    assert [len(i["run_ids"]) for i in state["items"]] == [1, 1]  # the overloaded attempt is not a finished run


def test_an_overload_that_persists_pauses_the_queue_after_n_attempts(cli, repo, tmp_path, anthropic_env, monkeypatch):
    monkeypatch.setenv("ONCE_QUEUE_OVERLOAD_RETRIES", "2")
    q(cli, repo, tmp_path, "add", "first")
    q(cli, repo, tmp_path, "add", "second")
    with FakeAnthropicServer([], fallback=by_model([Status(429)] * 20)) as server:
        anthropic_env(server)
        result = q(cli, repo, tmp_path, "run")
        main = len(main_requests(server))
    assert result.code == 3, result.stderr
    assert "trying" in result.stderr and "again in" in result.stderr  # one wait between the two attempts
    assert main == 2 * 3  # two attempts of the first item, each the request and the SDK's two retries
    state = listed(cli, repo, tmp_path)
    assert state["paused"] is True
    assert "2 times in a row" in state["pause_reason"] and "rate limited" in state["pause_reason"]
    assert [i["status"] for i in state["items"]] == ["queued", "queued"]
    assert [row[0] for row in run_rows(tmp_path)] == ["error", "error"]


def openai_runner(repo: Path, store, server) -> ItemRunner:
    """What `agent queue run --provider openai` builds, with the provider's own retries off."""
    git = GitRepo.open(repo)
    settings = load_settings(git.root, flags={"provider": "openai", "base_url": server.base_url,
                                             "model": openai_server.DEFAULT_MODEL})
    provider = OpenAIProvider(server.base_url, max_retries=0, retry_backoff=0)
    return ItemRunner(git=git, store=store, settings=settings, provider=provider, small=None, mode="agent",
                      permission_mode=HEADLESS_DEFAULT, sinks=lambda: [])


def test_openai_429_honours_retry_after_then_503s_pause_after_the_limit(repo, tmp_path):
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    script = [openai_server.Status(429, headers={"Retry-After": "0.2"}), openai_server.completion("done"),
              openai_server.Status(503), openai_server.Status(503)]
    with openai_server.FakeOpenAIServer(script) as server, open_store(str(tmp_path / "db")) as run_store, \
            open_store(str(tmp_path / "db")) as queue_store:
        queue = PromptQueue(queue_store.conn, str(repo.resolve()))
        first, second = queue.add("first"), queue.add("second")
        report = drain(queue, openai_runner(repo, run_store, server), owner="t", wait=wait,
                       retry=RetryPolicy(limit=2, base_delay=0.05))
        prompts = [str(r.body["messages"][-1]["content"]) for r in server.requests]
        state, items = queue.state(), {i.id: i for i in queue.items()}
    assert waits == [0.2, 0.05]  # the server's retry-after, then the policy's first step
    assert ["first" in text for text in prompts] == [True, True, False, False]  # the same item again
    assert report.stopped == "paused" and [i.text for i, _ in report.finished] == ["first"]
    assert state.paused and "503" in state.reason and "2 times in a row" in state.reason
    assert items[first.id].status == "done" and items[second.id].status == "queued"
    assert items[second.id].lease_owner is None


def _interrupt_when(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """Send SIGINT once `marker` shows on stderr; the whole stderr once the process ended."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not any(marker in line for line in lines) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # into the wait
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    reader.join(timeout=5)
    return "".join(lines)


def test_ctrl_c_during_the_wait_stops_the_drain_and_keeps_the_item(repo, tmp_path):
    """A real SIGINT to `agent queue run` while it waits to try an overloaded item again."""
    db = str(tmp_path / "once.db")
    # No Retry-After: the provider's own two retries take 1 + 2 s, then the queue waits 5 s.
    with openai_server.FakeOpenAIServer([], fallback=openai_server.Status(503)) as server:
        subprocess.run([sys.executable, "-m", "once", "queue", "add", "first", "--db", db], cwd=repo,
                       check=True, capture_output=True, timeout=60)
        proc = subprocess.Popen([sys.executable, "-m", "once", "queue", "run", "--db", db, "--provider", "openai",
                                 "--base-url", server.base_url, "-m", openai_server.DEFAULT_MODEL], cwd=repo, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        started = time.monotonic()
        try:
            err = _interrupt_when(proc, "again in", timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        took = time.monotonic() - started
        asked = len(server.requests)
    assert "again in 5.0s" in err and "Traceback" not in err
    assert proc.returncode != 0 and asked == 3  # interrupted in the wait, before a second attempt
    assert took < 20
    with open_store(db) as store:
        item = PromptQueue(store.conn, str(repo.resolve())).items()[0]
    assert item.status == "queued" and item.lease_owner is None
