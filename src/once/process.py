"""Facts about other processes."""

from __future__ import annotations

import os
import time


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (someone else's counts: we cannot tell it apart)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


AGENT_PID_ENV = "ONCE_AGENT_PID"
"""In the environment of every git the agent starts, its pid: a git outlives the agent's SIGKILL
and finishes what it was doing (a commit), so recovery first waits for the killed run's own."""


def marked_processes(pids: set[int]) -> list[int]:
    """Live processes that a process in `pids` started as its git (their environment says so).
    Empty where /proc does not tell."""
    wanted = {f"{AGENT_PID_ENV}={pid}".encode() for pid in pids}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as source:
                environ = source.read()
        except OSError:  # gone, or another user's
            continue
        if wanted.intersection(environ.split(b"\0")):
            found.append(int(name))
    return found


def wait_for_marked(pids: set[int], timeout: float = 10.0) -> bool:
    """Wait until no git of `pids` is left (at most `timeout` seconds): whether none is."""
    deadline = time.monotonic() + timeout
    while marked_processes(pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
