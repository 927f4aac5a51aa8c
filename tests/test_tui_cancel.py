"""Cancelling while the agent runs a long command: Escape in the app, Ctrl-C or SIGTERM headless.

The command must stop at once (its whole process group), the run must end as interrupted with
nothing half-applied in the worktree, and the cancellation must be on record.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from once.store import open_store
from once.tui.app import OnceApp
from once.tui.widgets.conversation import ToolLine
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_tui import backend_for, submit

pytestmark = pytest.mark.anyio

STOPPED_WITHIN = 10.0
"""Seconds: well under the 30-second command, so the run did not wait for it, with room for a busy machine."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sleeper() -> tuple[str, str]:
    """A 30 s Python command and a marker that finds its process in /proc."""
    marker = f"once-cancel-{uuid.uuid4().hex[:12]}"
    code = f"import time; time.sleep(30)  # {marker}"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}", marker


def marked_pids(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line carries `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state != "Z" and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def turn_with_sleep(command: str) -> list[dict[str, Any]]:
    """One turn: an edit, the long command (which lands the edit first), then an edit never reached."""
    return [
        message([
            tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"}),
            tool_use_block("c1", "run_command", {"command": command, "timeout": 60}),
            tool_use_block("e2", "edit_file", {"path": "cli.py", "old_string": "argparse", "new_string": "optparse"}),
        ]),
        message("never reached"),
    ]


def stored(db: Path, run_id: str, kind: str) -> list[dict[str, Any]]:
    with open_store(str(db)) as store:
        return [e for e in store.run_events(run_id) if e["type"] == kind]


async def wait_until(pilot: Any, condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finding the command's process needs /proc")
async def test_escape_stops_a_running_command_promptly_and_cleanly(repo, tmp_path):
    command, marker = sleeper()
    backend = backend_for(repo, tmp_path, turn_with_sleep(command))
    backend.permission_mode = "full-auto"  # no dialog: the command starts straight away
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2, then run the slow thing")
        await wait_until(pilot, lambda: marked_pids(marker), 20, "the command starting")
        app.queue.add("queued after")  # a queued prompt survives the cancel untouched
        pressed = time.monotonic()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.finished, 10, "the run ending")
        took = time.monotonic() - pressed
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert took < STOPPED_WITHIN, f"Escape took {took:.2f} s to end the run"
        assert marked_pids(marker) == []  # the command's process is gone
        result = app.finished[-1].result
        assert result is not None and result.status == "interrupted"
        assert git(repo, "status", "--porcelain") == ""  # nothing half-applied
        assert "argparse" in (repo / "cli.py").read_text()  # the edit after the command never ran
        assert "return 2" in (repo / "util.py").read_text()  # the edit the command saw landed, committed
        assert "return 2" in git(repo, "show", "HEAD:util.py")
        tool = next(line for line in app.query(ToolLine) if line.title.startswith("run_command"))
        assert tool.result is not None and "cancelled by the user" in tool.result.output
        results = [e for e in stored(tmp_path / "db", app.run_id, "tool_result") if e["name"] == "run_command"]
        assert results and results[0]["is_error"] and "cancelled by the user" in results[0]["output"]
        assert [c["reason"] for c in stored(tmp_path / "db", app.run_id, "cancelled")] == ["user"]
        assert [i.text for i in app.queue.items(include_finished=False)] == ["queued after"]
        assert not app.running


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finding the command's process needs /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_headless_run_stops_its_command_on_sigterm_or_ctrl_c(repo, tmp_path, signum):
    command, marker = sleeper()
    cassette = write_cassette(tmp_path / "c.json", turn_with_sleep(command))
    db = tmp_path / "db"
    env = {**os.environ, "ONCE_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "once", "run", "--replay", str(cassette), "--permission-mode", "full-auto",
         "make helper return 2, then run the slow thing"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not marked_pids(marker):
            assert proc.poll() is None and time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(signum)
        proc.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took < STOPPED_WITHIN, f"the run took {took:.2f} s to stop"
    assert marked_pids(marker) == []
    assert git(repo, "status", "--porcelain") == ""
    assert "argparse" in (repo / "cli.py").read_text()
    with open_store(str(db)) as store:
        run = store.latest_run(str(repo.resolve()))
    assert run is not None and run.status == "interrupted"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finding the check's process needs /proc")
async def test_escape_stops_a_running_check_without_recording_it_as_failed(repo, tmp_path):
    command, marker = sleeper()
    (repo / ".once").mkdir(exist_ok=True)
    (repo / ".once" / "config.toml").write_text(f"[verify]\ntest_command = {command!r}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a slow check")
    edit = tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"})
    backend = backend_for(repo, tmp_path, [message([edit]), message("never reached")])
    backend.permission_mode = "full-auto"
    # The user's own config allows the project's check command (a repository cannot allow it itself).
    backend.settings.policy = type(backend.settings.policy)(allow=(sys.executable + "*",), deny=())
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        await wait_until(pilot, lambda: marked_pids(marker), 20, "the check starting")
        pressed = time.monotonic()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.finished, 10, "the run ending")
        took = time.monotonic() - pressed
        await app.workers.wait_for_complete()
        assert took < STOPPED_WITHIN, f"Escape took {took:.2f} s to end the run"
        assert marked_pids(marker) == []
        assert app.finished[-1].result is not None and app.finished[-1].result.status == "interrupted"
        assert stored(tmp_path / "db", app.run_id, "test_result") == []  # cut short: neither passed nor failed
        assert git(repo, "status", "--porcelain") == "" and "return 2" in git(repo, "show", "HEAD:util.py")
