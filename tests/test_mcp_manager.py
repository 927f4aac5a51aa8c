"""The manager's background loop against a real server: bounded waits, nothing left running."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from once.mcp.manager import McpCallError, McpManager
from once.mcp.session import Target

SERVER = str(Path(__file__).parent / "fakes" / "mcp_server.py")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def target(**extra) -> Target:
    return Target("notes", argv=(sys.executable, SERVER, "stdio"), env=(("PATH", os.environ["PATH"]),), **extra)


def test_a_call_that_takes_too_long_times_out_and_close_stops_the_server():
    manager = McpManager()
    started = manager.start([target(timeout=1.0)])
    assert started[0].error is None and "wait" in {tool["name"] for tool in started[0].tools}
    pid = int(manager.call("notes", "pid", {})["content"][0]["text"])
    assert alive(pid)
    began = time.monotonic()
    with pytest.raises(McpCallError) as caught:
        manager.call("notes", "wait", {"seconds": 30})
    assert caught.value.kind == "timeout" and time.monotonic() - began < 5
    assert manager.call("notes", "wait", {"seconds": 0})["content"][0]["text"] == "woke"  # still usable
    began = time.monotonic()
    manager.close()
    assert time.monotonic() - began < 12
    assert not alive(pid)
    assert not any(thread.name == "mcp" for thread in threading.enumerate())
    manager.close()  # twice is fine


def test_a_cancelled_call_returns_at_once():
    cancel = threading.Event()
    with McpManager() as manager:
        manager.start([target()])
        threading.Timer(0.3, cancel.set).start()
        began = time.monotonic()
        with pytest.raises(McpCallError) as caught:
            manager.call("notes", "wait", {"seconds": 30}, cancel=cancel)
        assert caught.value.kind == "cancelled" and time.monotonic() - began < 5


def test_a_program_that_never_answers_fails_its_start_in_time_and_is_stopped(tmp_path):
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    silent = Target("silent", argv=(sys.executable, "-c", script), startup_timeout=1.0)
    began = time.monotonic()
    with McpManager() as manager:
        started = manager.start([silent, target()])
        assert time.monotonic() - began < 15
        assert "did not answer within 1 s" in (started[0].error or "")
        assert started[1].error is None  # the other one is not held up
        with pytest.raises(McpCallError) as caught:
            manager.call("silent", "anything", {})
        assert caught.value.kind == "gone"
    assert not alive(int(pidfile.read_text()))
