"""Start, stop and ask the warm process (what `agent warm` does)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

from once.errors import OnceError
from once.warm.address import make_private_folder, socket_folder, socket_path
from once.warm.client import connect
from once.warm.wire import Lines, send_request

START_SECONDS = 120.0
"""How long `start` waits for the process to have imported everything (a loaded laptop)."""


class WarmError(OnceError):
    exit_code = 1


@dataclass(frozen=True)
class WarmStatus:
    pid: int
    runs: int
    started: float
    idle_seconds: float
    stale: bool
    socket: str
    spare: int | None = None
    """The pid of the fork warmed up for the next run, when one is ready."""

    def as_dict(self) -> dict[str, object]:
        return {"running": True, "pid": self.pid, "runs": self.runs, "started": self.started,
                "idle_minutes": self.idle_seconds / 60, "stale": self.stale, "socket": self.socket,
                "spare": self.spare}


def status() -> WarmStatus | None:
    """The running warm process of this install, or None."""
    reply = _ask(b"ping")
    if reply is None or not reply.startswith(b"pong "):
        return None
    pid, runs, started, idle, stale, spare = (reply.split() + [b"0"])[1:7]  # a server from before spares: none
    return WarmStatus(int(pid), int(runs), float(started), float(idle), stale == b"1", socket_path(),
                      int(spare) or None)


def stop() -> WarmStatus | None:
    """Stop the warm process; what it was, or None when none ran. Runs under way finish."""
    running = status()
    if running is not None:
        _ask(b"stop")
        _wait_gone(running.pid)
    return running


def start(idle_minutes: float) -> tuple[WarmStatus, bool]:
    """Start the warm process unless one runs: its status, and whether it was started now."""
    running = status()
    if running is not None:
        return running, False
    folder = socket_folder()
    try:
        make_private_folder(folder)
    except OSError as exc:
        raise WarmError(f"cannot use {folder} for the warm process's socket: {exc}",
                        hint="Remove it, or name a folder of your own with ONCE_WARM_DIR.") from None
    command = [sys.executable, "-P", "-m", "once.warm.server", "--idle", str(idle_minutes * 60)]
    process = subprocess.Popen(command, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    started_now = _wait_ready(process)  # False: another start got there first
    running = status()
    if running is None:
        raise WarmError("the warm process started but does not answer", hint=f"Its socket: {socket_path()}")
    return running, started_now


def _ask(kind: bytes) -> bytes | None:
    sock = connect()
    if sock is None:
        return None
    try:
        sock.settimeout(10)
        send_request(sock, kind, [])
        return Lines(sock).next()
    except OSError:
        return None
    finally:
        sock.close()


def _wait_ready(process: subprocess.Popen[bytes]) -> bool:
    """True once the process says it is ready; False when it found another one serving."""
    assert process.stdout is not None and process.stderr is not None
    deadline = time.monotonic() + START_SECONDS
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            part = os.read(process.stdout.fileno(), 256)
            if not part:
                break
            line += part
    if line.startswith((b"ready ", b"busy")):
        process.stdout.close()
        process.stderr.close()
        if line.startswith(b"busy"):
            process.wait()
        return line.startswith(b"ready ")
    if process.poll() is None:
        process.kill()
    process.wait()
    detail = process.stderr.read().decode("utf-8", "replace").strip().splitlines()
    raise WarmError("the warm process did not start" + (f": {detail[-1]}" if detail else ""),
                    hint="Run `python -P -m once.warm.server` to see its whole output.")


def _wait_gone(pid: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.02)
