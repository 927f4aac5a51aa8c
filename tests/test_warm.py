"""The warm process: `agent run` handed to a fork of a process that has imported everything.

Each test starts a real warm process (`agent warm start`) with its socket in a folder of its
own, and stops it at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from once.safety.sandbox import bwrap_path, sandbox_options, wrap
from once.warm import wire
from once.warm.address import folder_is_private
from tests.conftest import make_repo, write_cassette
from tests.test_cli_startup import two_file_cassette, two_file_edit

TIMEOUT = 120


def agent(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None,
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "once", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, input=input, timeout=TIMEOUT, stdin=None if input is not None else subprocess.DEVNULL)


def status(cwd: Path, env: dict[str, str] | None = None) -> dict:
    return json.loads(agent("warm", "status", "--json", cwd=cwd, env=env).stdout)


@pytest.fixture
def warm_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A private folder for the socket (short: a socket's path must fit in ~100 bytes); the warm
    process started in it is stopped at the end, however the test ended."""
    folder = Path(tempfile.mkdtemp(prefix="ow-"))
    monkeypatch.setenv("ONCE_WARM_DIR", str(folder))
    monkeypatch.setenv("ONCE_WARM", "1")
    yield folder
    for env in (None, {**os.environ, "PYTHONPATH": str(tmp_path / "pkg")}):
        found = agent("warm", "status", "--json", cwd=tmp_path, env=env)
        if found.returncode == 0:
            os.kill(json.loads(found.stdout)["pid"], signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def started(warm_dir: Path, tmp_path: Path) -> dict:
    done = agent("warm", "start", "--idle", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warm process started" in done.stdout
    return status(tmp_path)


def two_repos(tmp_path: Path) -> tuple[Path, Path, Path]:
    files = {"a.py": "A = 1\n", "b.py": "B = 1\n"}
    first, second = make_repo(tmp_path / "one", files), make_repo(tmp_path / "two", files)
    cassette = tmp_path / "c.json"
    cassette.write_text(json.dumps(two_file_cassette(first)))
    return first, second, cassette


def without_ids(text: str) -> str:
    return "\n".join(" ".join(w for w in line.split() if not w.startswith(("r-", "1m"))) for line in text.splitlines()
                     if "commit" not in line)


def test_a_run_through_the_warm_process_does_what_a_run_in_its_own_process_does(started: dict, tmp_path: Path,
                                                                               ) -> None:
    first, second, cassette = two_repos(tmp_path)
    cold = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "c.db"), "edit",
                 cwd=first, env={**os.environ, "ONCE_WARM": "0"})
    assert status(tmp_path)["runs"] == 0
    warm = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=second)
    assert status(tmp_path)["runs"] == 1  # this one was the warm process's
    assert (cold.returncode, warm.returncode) == (0, 0), warm.stderr
    assert without_ids(warm.stdout) == without_ids(cold.stdout) and without_ids(warm.stderr) == without_ids(cold.stderr)
    for repo in (first, second):
        assert (repo / "b.py").read_text() == "B = 2\n"
        assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    db = sqlite3.connect(tmp_path / "w.db")
    pid, status_ = db.execute("SELECT pid, status FROM runs").fetchone()
    assert status_ == "done" and pid != started["pid"]  # a fork did it, not the warm process itself


def test_the_run_takes_the_callers_environment_folder_and_standard_input(started: dict, tmp_path: Path) -> None:
    first, _, cassette = two_repos(tmp_path)
    database = tmp_path / "from-env.db"
    done = agent("run", "--replay", str(cassette), "-", cwd=first, input="edit from stdin\n",
                 env={**os.environ, "ONCE_DB": str(database)})
    assert done.returncode == 0, done.stderr
    assert status(tmp_path)["runs"] == 1
    prompt, repo = sqlite3.connect(database).execute("SELECT prompt, repo FROM runs").fetchone()
    assert prompt == "edit from stdin" and Path(repo) == first


def test_exit_codes_and_errors_come_back_as_they_are(started: dict, tmp_path: Path) -> None:
    first, _, _ = two_repos(tmp_path)
    done = agent("run", "--replay", str(tmp_path / "missing.json"), "x", cwd=first)
    assert done.returncode == 3 and "cassette not found" in done.stderr
    outside = agent("run", "--replay", str(tmp_path / "missing.json"), "x", cwd=tmp_path)
    assert outside.returncode == 2 and "not inside a git repository" in outside.stderr
    assert status(tmp_path)["runs"] == 2


def sleeping_cassette(path: Path) -> Path:
    usage = {"input_tokens": 10, "output_tokens": 5}
    return write_cassette(path, [
        {"id": "m0", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "tool_use",
         "stop_sequence": None, "usage": usage,
         "content": [{"type": "tool_use", "id": "t0", "name": "run_command", "input": {"command": "sleep 47"}}]},
        {"id": "m1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
         "stop_sequence": None, "usage": usage, "content": [{"type": "text", "text": "done"}]},
    ])


def sleep_running() -> bool:
    return subprocess.run(["pgrep", "-f", "sleep 47"], capture_output=True).returncode == 0


def wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def start_sleeping_run(repo: Path, cassette: Path, database: Path, warm: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "once", "run", "--permission-mode", "full-auto", "--replay",
                             str(cassette), "--db", str(database), "wait"], cwd=repo, text=True,
                            env={**os.environ, "ONCE_WARM": warm, "ONCE_SANDBOX": "off"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_a_warm_run_as_they_stop_any_run(started: dict, tmp_path: Path, sig: int) -> None:
    first, _, _ = two_repos(tmp_path)
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    codes = {}
    for warm in ("0", "1"):
        process = start_sleeping_run(first, cassette, tmp_path / f"{warm}.db", warm)
        try:
            assert wait_for(sleep_running), "the command did not start"
            process.send_signal(sig)
            process.communicate(timeout=30)
        finally:
            process.kill()
        codes[warm] = process.returncode
        assert wait_for(lambda: not sleep_running(), 10)
        assert sqlite3.connect(tmp_path / f"{warm}.db").execute("SELECT status FROM runs").fetchone() == (
            "interrupted",)
    assert codes["1"] == codes["0"] != 0
    assert status(tmp_path)["runs"] == 1


def test_a_killed_caller_stops_its_run(started: dict, tmp_path: Path) -> None:
    first, _, _ = two_repos(tmp_path)
    process = start_sleeping_run(first, sleeping_cassette(tmp_path / "sleep.json"), tmp_path / "k.db", "1")
    try:
        assert wait_for(sleep_running), "the command did not start"
    finally:
        process.kill()
        process.communicate()
    assert wait_for(lambda: not sleep_running(), 10), "the run went on without its caller"
    database = sqlite3.connect(tmp_path / "k.db")
    assert wait_for(lambda: database.execute("SELECT status FROM runs").fetchone() == ("interrupted",), 10)


def test_once_warm_0_runs_in_its_own_process(started: dict, tmp_path: Path) -> None:
    first, _, cassette = two_repos(tmp_path)
    done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "o.db"), "edit", cwd=first,
                 env={**os.environ, "ONCE_WARM": "0"})
    assert done.returncode == 0 and status(tmp_path)["runs"] == 0


def test_a_changed_module_restarts_it_and_no_run_uses_the_old_code(warm_dir: Path, tmp_path: Path) -> None:
    import once

    package = tmp_path / "pkg" / "once"
    shutil.copytree(Path(once.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    assert agent("warm", "start", cwd=tmp_path, env=env).returncode == 0
    before = status(tmp_path, env)
    first, second, cassette = two_repos(tmp_path)
    render = package / "words.py"
    assert "not billed" in render.read_text()
    render.write_text(render.read_text().replace("not billed", "NOT BILLED"))
    stale = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "a.db"), "edit", cwd=first, env=env)
    assert stale.returncode == 0 and "NOT BILLED" in stale.stdout + stale.stderr
    assert wait_for(lambda: agent("warm", "status", cwd=tmp_path, env=env).returncode == 0, 90)
    after = status(tmp_path, env)
    assert after["pid"] == before["pid"] and after["runs"] == 0 and not after["stale"]  # the same process, exec'd anew
    fresh = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "b.db"), "edit", cwd=second, env=env)
    assert fresh.returncode == 0 and "NOT BILLED" in fresh.stdout + fresh.stderr
    assert status(tmp_path, env)["runs"] == 1


def test_stop_and_idle_end_it_and_remove_its_socket(warm_dir: Path, tmp_path: Path) -> None:
    assert agent("warm", "start", "--idle", "0.05", cwd=tmp_path).returncode == 0
    assert list(warm_dir.iterdir())
    assert wait_for(lambda: not list(warm_dir.iterdir()), 30), "it did not stop when idle"
    assert agent("warm", "status", cwd=tmp_path).returncode == 1
    assert agent("warm", "start", cwd=tmp_path).returncode == 0
    again = agent("warm", "start", cwd=tmp_path)
    assert again.returncode == 0 and "already running" in again.stdout
    stopped = agent("warm", "stop", cwd=tmp_path)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout and not list(warm_dir.iterdir())
    assert "no warm process" in agent("warm", "stop", cwd=tmp_path).stdout


def test_a_folder_others_can_reach_is_never_used(warm_dir: Path, tmp_path: Path) -> None:
    """On a shared /tmp another user could make the folder first, and hear every run's environment."""
    os.chmod(warm_dir, 0o755)
    refused = agent("warm", "start", cwd=tmp_path)
    assert refused.returncode == 1 and "not a private folder" in refused.stderr and "Traceback" not in refused.stderr
    os.chmod(warm_dir, 0o700)
    assert agent("warm", "start", cwd=tmp_path).returncode == 0
    os.chmod(warm_dir, 0o755)  # opened after the start: runs stop using it
    first, _, cassette = two_repos(tmp_path)
    assert agent("run", "--replay", str(cassette), "--db", str(tmp_path / "o.db"), "edit", cwd=first).returncode == 0
    os.chmod(warm_dir, 0o700)
    assert status(tmp_path)["runs"] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the folder to another user needs root")
def test_a_folder_of_another_user_is_not_private(tmp_path: Path) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    assert folder_is_private(str(folder))
    os.chown(folder, 65534, 65534)
    assert not folder_is_private(str(folder))
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert not folder_is_private(str(link))


def test_a_request_that_is_not_one_is_refused_and_its_descriptors_closed() -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    for payload in (b"junk", b"run \x05\x00\x00\x00other", b"run \xff\xff\xff\x7f"):
        left, right = socket.socketpair()
        before = open_fds()
        left.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("2i", 0, 1))])
        left.close()
        with pytest.raises(ValueError):
            wire.receive_request(right)
        right.close()
        assert open_fds() == before - 2  # the pair closed, and both descriptors received


def test_a_replayed_run_imports_no_module_of_once_the_warm_process_has_not(repo: Path, tmp_path: Path) -> None:
    cassette = two_file_edit(repo, tmp_path)
    code = ("import sys\nfrom once.warm.server import preload\npreload()\nbefore = set(sys.modules)\n"
            "from once.cli.launch import main\n"
            f"try:\n    main(['run', '--replay', {str(cassette)!r}, '--db', {str(tmp_path / 'o.db')!r}, 'edit'])\n"
            "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "print(sorted(m for m in set(sys.modules) - before if m.startswith('once')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (repo / "b.py").read_text() == "B = 2\n"


def test_the_sandbox_hides_a_warm_folder_outside_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = Path("/var/tmp") / f"once-warm-test-{os.getpid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    monkeypatch.setenv("ONCE_WARM_DIR", str(folder))
    try:
        (folder / "run-x.sock").write_text("stand-in\n")
        options = sandbox_options(str(tmp_path))
        assert ["--tmpfs", str(folder)] == options[options.index(str(folder)) - 1:options.index(str(folder)) + 1]
        if bwrap_path() is not None:
            done = subprocess.run(wrap(f"ls -A {folder}; echo listed", str(tmp_path), "bwrap"), cwd=tmp_path,
                                  capture_output=True, text=True, timeout=30)
            assert done.stdout == "listed\n", done.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_ctrl_z_stops_the_run_with_its_caller_and_fg_continues_both(started: dict, tmp_path: Path) -> None:
    first, _, _ = two_repos(tmp_path)
    database = tmp_path / "z.db"
    process = start_sleeping_run(first, sleeping_cassette(tmp_path / "sleep.json"), database, "1")
    try:
        assert wait_for(sleep_running), "the command did not start"
        [run_pid] = sqlite3.connect(database).execute("SELECT pid FROM runs").fetchone()
        assert run_pid != process.pid
        process.send_signal(signal.SIGTSTP)
        assert wait_for(lambda: process_state(process.pid) == "T" and process_state(run_pid) == "T", 10)
        process.send_signal(signal.SIGCONT)
        assert wait_for(lambda: process_state(run_pid) != "T", 10), "the run stayed stopped"
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 1
    assert sqlite3.connect(database).execute("SELECT status FROM runs").fetchone() == ("interrupted",)
