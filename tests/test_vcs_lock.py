"""GitRepo.lock: one agent run per work tree at a time."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from once.errors import VcsError
from once.vcs import GitRepo
from once.vcs.lock import describe_holder
from tests.conftest import git

HOLDER = """
import subprocess, sys
from pathlib import Path
from once.vcs import GitRepo
with GitRepo(Path(sys.argv[1])).lock("r-holder"):
    if len(sys.argv) > 2:  # a long-lived child, as a shell command of the run might leave
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                 stdin=subprocess.DEVNULL, close_fds=False)
        print(child.pid, flush=True)
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.init(tmp_path / "work")


def hold_in_subprocess(repo: GitRepo, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo.root), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    if not extra:
        assert proc.stdout.readline() == "held\n"
    return proc


def finish(proc: subprocess.Popen[str], *, kill: bool = False) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    if kill:
        proc.kill()
    proc.stdin.close()
    proc.wait(timeout=10)
    proc.stdout.close()


def lock_file(repo: GitRepo) -> Path:
    return repo.root / ".git" / "once.lock"


def test_second_run_is_refused_while_another_process_holds_the_lock(repo: GitRepo) -> None:
    proc = hold_in_subprocess(repo)
    try:
        with pytest.raises(VcsError) as caught:
            with repo.lock("r-second"):
                pass
        assert caught.value.message == (
            f"another agent run (r-holder, pid {proc.pid}) is working in this repository"
        )
        assert "worktree" in (caught.value.hint or "")
    finally:
        finish(proc)
    assert proc.returncode == 0
    with repo.lock("r-second"):
        assert lock_file(repo).read_text() == f"{os.getpid()}\nr-second\n"
    assert lock_file(repo).read_text() == ""


def test_a_killed_holder_does_not_block(repo: GitRepo) -> None:
    proc = hold_in_subprocess(repo)
    finish(proc, kill=True)
    assert lock_file(repo).read_text().endswith("r-holder\n")  # left behind, but not locked
    with repo.lock("r-after"):
        pass


def test_a_child_of_a_killed_holder_does_not_keep_the_lock(repo: GitRepo) -> None:
    proc = hold_in_subprocess(repo, "with-child")
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        assert proc.stdout.readline() == "held\n"
        finish(proc, kill=True)
        with repo.lock("r-after"):
            pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


LEFTOVER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, (sys.argv[2] + "\\nr-killed\\n").encode(), 0)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold_as_leftover(repo: GitRepo, pid: int, seconds: float) -> subprocess.Popen[str]:
    """The lock held by a process that is not the one the file names, as a killed run's child
    does until it starts its program."""
    proc = subprocess.Popen([sys.executable, "-c", LEFTOVER, str(lock_file(repo)), str(pid), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


def test_a_lock_a_gone_run_still_holds_for_a_moment_is_waited_for(repo: GitRepo) -> None:
    gone = 2 ** 22 + 17  # above the default pid_max: no process has it
    proc = hold_as_leftover(repo, gone, 0.5)
    try:
        started = time.monotonic()
        with repo.lock("r-after"):
            assert lock_file(repo).read_text() == f"{os.getpid()}\nr-after\n"
        assert time.monotonic() - started > 0.2  # it waited for the leftover holder
    finally:
        stop(proc)


def test_a_lock_held_under_a_live_pid_or_for_long_is_refused(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = hold_as_leftover(repo, os.getppid(), 30)  # a live process: refused at once
    try:
        started = time.monotonic()
        with pytest.raises(VcsError, match=rf"pid {os.getppid()}\)"):
            with repo.lock("r-after"):
                pass
        assert time.monotonic() - started < 1
    finally:
        stop(proc)
    monkeypatch.setattr("once.vcs.lock.DEAD_HOLDER_SECONDS", 0.3)
    proc = hold_as_leftover(repo, 2 ** 22 + 17, 30)  # a gone pid, but held on: refused in the end
    try:
        with pytest.raises(VcsError, match="another agent run"):
            with repo.lock("r-after"):
                pass
    finally:
        stop(proc)


def test_released_on_exception(repo: GitRepo) -> None:
    with pytest.raises(RuntimeError):
        with repo.lock("r-1"):
            raise RuntimeError("boom")
    with repo.lock("r-2"):
        pass


def test_held_in_the_same_process_refuses_a_second_holder(repo: GitRepo) -> None:
    with repo.lock("r-1"):
        with pytest.raises(VcsError, match=rf"\(r-1, pid {os.getpid()}\)"):
            with repo.lock("r-2"):
                pass


def test_a_linked_worktree_has_its_own_lock(repo: GitRepo, tmp_path: Path) -> None:
    (repo.root / "a.txt").write_text("a\n")
    repo.commit_paths(["a.txt"], "a\n")
    linked = tmp_path / "linked"
    git(repo.root, "worktree", "add", "-q", "--detach", str(linked), "HEAD")
    with repo.lock("r-main"), GitRepo.open(linked).lock("r-linked"):
        assert lock_file(repo).read_text().endswith("r-main\n")


def test_describe_holder() -> None:
    assert describe_holder("123\nr-abc\n") == ("r-abc", "123")
    assert describe_holder("") == ("unknown", "unknown")
    assert describe_holder("garbage") == ("unknown", "unknown")
