"""The warm process's fork, driven directly as the client drives it: what it hands back and when."""

from __future__ import annotations

import atexit
import os
import socket
import time
from pathlib import Path

from once.warm import child
from once.warm.wire import Lines


def test_the_callers_streams_are_let_go_before_the_run_says_it_ended(tmp_path: Path) -> None:
    # A caller reading the run's output (`out=$(agent run ...)`) must see its end when the client
    # exits, not once the fork, a large process, has been torn down: here a teardown of 3 s.
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    in_read, in_write = os.pipe()
    request = child.RunRequest(str(tmp_path), 0o022, (("utf-8", "strict"),) * 3, ["--version"],
                               {"PATH": os.environ.get("PATH", ""), "ONCE_WARM": "0"})
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the fork)
        atexit._clear()  # the test runner's own exit handlers are not the run's
        real_exit = os._exit
        os._exit = lambda code: (time.sleep(3), real_exit(code))  # type: ignore[assignment]
        ours.close()
        os.close(out_read)
        os.close(in_write)
        child.run_forked(theirs, request, [in_read, out_write, os.dup(out_write)], [])
    theirs.close()
    os.close(out_write)
    os.close(in_read)
    try:
        lines = Lines(ours)
        ours.settimeout(20)
        assert (lines.next() or b"").startswith(b"ready ")
        ours.sendall(b"go\n")
        assert lines.next() == b"exit 0"
        told = time.monotonic()
        output = b""
        while chunk := os.read(out_read, 4096):
            output += chunk
        assert time.monotonic() - told < 2, "the output ended only with the fork"
        assert output.startswith(b"once ")
    finally:
        os.close(out_read)
        os.close(in_write)
        ours.close()
        os.waitpid(pid, 0)
