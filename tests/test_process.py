"""Facts about other processes: which gits a (killed) agent process started are still running."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from once.process import AGENT_PID_ENV, marked_processes, wait_for_marked


def test_a_process_marked_with_a_pid_is_found_and_waited_for_until_it_ends() -> None:
    gone_pid = 2 ** 22 + 17  # above the default pid_max: no live process has it
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.6)"],
                             env={**os.environ, AGENT_PID_ENV: str(gone_pid)})
    try:
        assert marked_processes({gone_pid}) == [child.pid]
        assert marked_processes({gone_pid + 1}) == []  # another pid's mark is not this one
        assert wait_for_marked({gone_pid}, timeout=0.05) is False  # still running: not waited out
        started = time.monotonic()
        assert wait_for_marked({gone_pid}, timeout=10) is True  # waited for until it ended
        assert 0.2 < time.monotonic() - started < 10 and child.poll() is not None
    finally:
        child.kill()
        child.wait()


def test_nothing_is_marked_for_an_empty_set() -> None:
    assert marked_processes(set()) == []
    assert wait_for_marked(set(), timeout=0) is True
