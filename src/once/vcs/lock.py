"""The per-repository run lock: two agent runs in one work tree never interleave commits.

An advisory `flock` on a file in the git dir. The kernel releases it when the holder's
file is closed, so a run that was killed leaves nothing that blocks the next one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from once.errors import VcsError
from once.process import process_alive

DEAD_HOLDER_SECONDS = 3.0
_BUSY_HINT = (
    "Wait for it to finish, or run in a separate worktree (`git worktree add ../other-dir`)."
)


def describe_holder(text: str) -> tuple[str, str]:
    """(run id, pid) from the lock file's `pid\\nrun id\\n`; "unknown" where missing."""
    lines = [line.strip() for line in text.splitlines()]
    pid = lines[0] if lines and lines[0].isdigit() else "unknown"
    run = lines[1] if len(lines) > 1 and lines[1] else "unknown"
    return run, pid


def busy_error(text: str) -> VcsError:
    run, pid = describe_holder(text)
    return VcsError(
        f"another agent run ({run}, pid {pid}) is working in this repository", hint=_BUSY_HINT
    )


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""


@contextmanager
def hold_run_lock(path: Path, run_id: str) -> Iterator[None]:
    """Hold the lock at `path` for the block; raise VcsError if another process holds it."""
    try:
        # os.open makes the descriptor non-inheritable (PEP 446): a daemon started by a
        # shell command of the run cannot keep the lock alive after the run ends.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise VcsError(f"could not open the run lock {path}: {exc.strerror or exc}") from exc
    try:
        try:
            _lock(fd, time.monotonic() + DEAD_HOLDER_SECONDS)
        except OSError as exc:
            raise VcsError(f"could not lock {path}: {exc.strerror or exc}") from exc
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n{run_id}\n".encode(), 0)
            yield
        finally:
            # Emptied, not deleted: deleting a locked file lets two processes lock two
            # different files under the same name.
            _truncate_quietly(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _lock(fd: int, deadline: float) -> None:
    """Take the lock. Held under the pid of a process that is gone, it is waited for until
    `deadline`: a run killed a moment ago can still hold it through a child that has not yet
    started its program (the descriptor is closed only then)."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
        text = _read(fd)
        _, pid = describe_holder(text)
        if time.monotonic() >= deadline or not pid.isdigit() or process_alive(int(pid)):
            raise busy_error(text)
        time.sleep(0.02)


def _truncate_quietly(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    except OSError:
        pass
