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
import zlib
from pathlib import Path

import pytest

from once.safety.sandbox import bwrap_path, sandbox_options, wrap
from once.warm import wire
from once.warm.address import folder_is_private
from tests.conftest import git, make_repo, write_cassette
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


def sleep_command(cassette: Path) -> str:
    """A command to wait in, told apart from every other test's (`pgrep -f` finds it)."""
    return f"sleep 47.{zlib.crc32(str(cassette).encode()) % 10**6:06d}"


def sleeping_cassette(path: Path) -> Path:
    usage = {"input_tokens": 10, "output_tokens": 5}
    return write_cassette(path, [
        {"id": "m0", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "tool_use",
         "stop_sequence": None, "usage": usage,
         "content": [{"type": "tool_use", "id": "t0", "name": "run_command", "input": {"command": sleep_command(path)}}]},
        {"id": "m1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
         "stop_sequence": None, "usage": usage, "content": [{"type": "text", "text": "done"}]},
    ])


def sleep_running(cassette: Path) -> bool:
    return subprocess.run(["pgrep", "-f", sleep_command(cassette)], capture_output=True).returncode == 0


def wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def start_sleeping_run(repo: Path, cassette: Path, database: Path, warm: str) -> subprocess.Popen[str]:
    """The run, as started from a terminal: Ctrl-Z not ignored (a script's background job may
    have these tests' own process ignore it)."""
    return subprocess.Popen([sys.executable, "-m", "once", "run", "--permission-mode", "full-auto", "--replay",
                             str(cassette), "--db", str(database), "wait"], cwd=repo, text=True,
                            env={**os.environ, "ONCE_WARM": warm, "ONCE_SANDBOX": "off"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGTSTP, signal.SIG_DFL))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_a_warm_run_as_they_stop_any_run(started: dict, tmp_path: Path, sig: int) -> None:
    first, _, _ = two_repos(tmp_path)
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    codes = {}
    for warm in ("0", "1"):
        process = start_sleeping_run(first, cassette, tmp_path / f"{warm}.db", warm)
        try:
            assert wait_for(lambda: sleep_running(cassette)), "the command did not start"
            process.send_signal(sig)
            process.communicate(timeout=30)
        finally:
            process.kill()
        codes[warm] = process.returncode
        assert wait_for(lambda: not sleep_running(cassette), 10)
        assert sqlite3.connect(tmp_path / f"{warm}.db").execute("SELECT status FROM runs").fetchone() == (
            "interrupted",)
    assert codes["1"] == codes["0"] != 0
    assert status(tmp_path)["runs"] == 1


def test_a_killed_caller_stops_its_run(started: dict, tmp_path: Path) -> None:
    first, _, _ = two_repos(tmp_path)
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    process = start_sleeping_run(first, cassette, tmp_path / "k.db", "1")
    try:
        assert wait_for(lambda: sleep_running(cassette)), "the command did not start"
    finally:
        process.kill()
        process.communicate()
    assert wait_for(lambda: not sleep_running(cassette), 10), "the run went on without its caller"
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
    def sockets() -> list[Path]:
        return list(warm_dir.glob("*.sock"))

    assert agent("warm", "start", "--idle", "0.05", cwd=tmp_path).returncode == 0
    assert sockets()
    assert wait_for(lambda: not sockets(), 30), "it did not stop when idle"
    assert agent("warm", "status", cwd=tmp_path).returncode == 1
    assert agent("warm", "start", cwd=tmp_path).returncode == 0
    again = agent("warm", "start", cwd=tmp_path)
    assert again.returncode == 0 and "already running" in again.stdout
    stopped = agent("warm", "stop", cwd=tmp_path)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout and not sockets()
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
    """As from a terminal's shell: the caller in a job (a process group) of a session whose shell
    stays, so the group is not orphaned and SIGTSTP stops it."""
    first, _, _ = two_repos(tmp_path)
    database = tmp_path / "z.db"
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    command = " ".join(f"'{part}'" for part in (sys.executable, "-m", "once", "run", "--permission-mode", "full-auto",
                                                "--replay", str(cassette), "--db", str(database), "wait"))
    shell = subprocess.Popen(["bash", "-c", f"set -m; {command} & echo $!; sleep 60"], cwd=first, text=True,
                             start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env={**os.environ, "ONCE_WARM": "1", "ONCE_SANDBOX": "off"},
                             preexec_fn=lambda: signal.signal(signal.SIGTSTP, signal.SIG_DFL))
    try:
        assert shell.stdout is not None
        caller = int(shell.stdout.readline())
        assert wait_for(lambda: sleep_running(cassette)), "the command did not start"
        [run_pid] = sqlite3.connect(database).execute("SELECT pid FROM runs").fetchone()
        assert run_pid != caller
        os.kill(caller, signal.SIGTSTP)
        assert wait_for(lambda: process_state(caller) == "T" and process_state(run_pid) == "T", 10)
        os.kill(caller, signal.SIGCONT)
        assert wait_for(lambda: process_state(run_pid) != "T" and process_state(caller) != "T", 10)
        os.kill(caller, signal.SIGINT)
        assert wait_for(lambda: sqlite3.connect(database).execute("SELECT status FROM runs").fetchone() == (
            "interrupted",), 30)
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.communicate()
        subprocess.run(["pkill", "-f", sleep_command(cassette)], check=False)


def test_ctrl_z_in_an_orphaned_group_stops_neither(started: dict, tmp_path: Path) -> None:
    """The kernel drops SIGTSTP for a process group no shell controls: a run of its own goes on,
    and so must a warm run, not stay stopped with no one to continue it."""
    first, _, _ = two_repos(tmp_path)
    database = tmp_path / "o.db"
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    process = subprocess.Popen([sys.executable, "-m", "once", "run", "--permission-mode", "full-auto", "--replay",
                                str(cassette), "--db", str(database), "wait"], cwd=first, text=True,
                               start_new_session=True, env={**os.environ, "ONCE_WARM": "1", "ONCE_SANDBOX": "off"},
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGTSTP, signal.SIG_DFL))
    try:
        assert wait_for(lambda: sleep_running(cassette)), "the command did not start"
        [run_pid] = sqlite3.connect(database).execute("SELECT pid FROM runs").fetchone()
        process.send_signal(signal.SIGTSTP)
        time.sleep(0.5)
        assert wait_for(lambda: process_state(run_pid) != "T" and process_state(process.pid) != "T", 10)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        process.kill()
        subprocess.run(["pkill", "-f", sleep_command(cassette)], check=False)
    assert process.returncode == 1


def test_concurrent_starts_leave_one_warm_process(warm_dir: Path, tmp_path: Path) -> None:
    starts = [subprocess.Popen([sys.executable, "-m", "once", "warm", "start"], cwd=tmp_path, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for _ in range(3)]
    outputs = [process.communicate(timeout=TIMEOUT) for process in starts]
    assert [process.returncode for process in starts] == [0, 0, 0], outputs
    pids = {out.split("pid ")[1].split(")")[0].split(",")[0] for out, _ in outputs}
    assert len(pids) == 1, outputs
    assert sum("started" in out for out, _ in outputs) == 1
    assert str(status(tmp_path)["pid"]) in pids


def test_a_malformed_run_request_leaves_it_serving(started: dict, tmp_path: Path) -> None:
    from once.warm.address import compatibility, install_key, socket_path

    for fields in ([install_key().encode()], [install_key().encode(), compatibility().encode(), b"/", b"x"]):
        client = socket.socket(socket.AF_UNIX)
        client.connect(socket_path())
        wire.send_request(client, b"run", fields)
        client.settimeout(10)
        assert client.recv(100) in (b"", b"other\n")
        client.close()
    assert status(tmp_path)["pid"] == started["pid"]


def test_clients_that_say_nothing_hold_up_no_run(started: dict, tmp_path: Path) -> None:
    from once.warm.address import socket_path

    silent = []
    for _ in range(4):
        client = socket.socket(socket.AF_UNIX)
        client.connect(socket_path())
        client.send(b"run ")  # half a header, then nothing
        silent.append(client)
    try:
        first, _, cassette = two_repos(tmp_path)
        began = time.monotonic()
        done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "o.db"), "edit", cwd=first)
        # Read one after another, the four would hold it up for 4 x 5 s before the run.
        assert done.returncode == 0 and time.monotonic() - began < 15
        assert status(tmp_path)["runs"] == 1
    finally:
        for client in silent:
            client.close()


def test_a_caller_confined_otherwise_runs_in_its_own_process(started: dict, tmp_path: Path) -> None:
    """A run forked by the warm process would have its priority, limits and namespaces."""
    first, second, cassette = two_repos(tmp_path)
    niced = subprocess.run([sys.executable, "-m", "once", "run", "--replay", str(cassette), "--db",
                            str(tmp_path / "n.db"), "edit"], cwd=first, capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.nice(5))
    assert niced.returncode == 0, niced.stderr
    assert status(tmp_path)["runs"] == 0
    plain = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "p.db"), "edit", cwd=second)
    assert plain.returncode == 0 and status(tmp_path)["runs"] == 1


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed (apt install bubblewrap)")
def test_a_command_in_the_sandbox_never_gets_a_run_outside_it(warm_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox hides the socket's folder it knows of; a command can still name another one
    (ONCE_WARM_DIR is the command's to set), so the warm process refuses callers confined otherwise."""
    first, _, outside = two_repos(tmp_path)
    # A repository of the command's own inside the run's (whose .git the sandbox keeps read-only),
    # and the cassette there: the sandbox's /tmp is its own.
    nested = make_repo(first / "nested", {"a.py": "A = 1\n", "b.py": "B = 1\n"})
    cassette = nested / "c.json"
    cassette.write_text(outside.read_text())
    visible = Path("/var/tmp") / f"ow-{os.getpid()}"  # a folder the sandbox does not hide
    visible.mkdir(mode=0o700)
    monkeypatch.setenv("ONCE_WARM_DIR", str(visible))
    try:
        assert agent("warm", "start", cwd=tmp_path).returncode == 0
        monkeypatch.setenv("ONCE_WARM_DIR", str(tmp_path / "elsewhere"))  # what the sandbox is told of
        inner = (f"ONCE_WARM=1 ONCE_WARM_DIR={visible} {sys.executable} -m once run --replay {cassette} "
                 f"--db {nested}/inner.db edit; echo exit=$?")
        done = subprocess.run(wrap(f"cd nested && {inner}", str(first), "bwrap"), cwd=first, capture_output=True,
                              text=True, timeout=TIMEOUT)
        monkeypatch.setenv("ONCE_WARM_DIR", str(visible))
        assert "exit=0" in done.stdout, done.stdout + done.stderr
        assert (nested / "b.py").read_text() == "B = 2\n"  # it ran, inside the sandbox
        assert status(tmp_path)["runs"] == 0
    finally:
        agent("warm", "stop", cwd=tmp_path)
        shutil.rmtree(visible, ignore_errors=True)


def test_a_run_killed_by_a_signal_ends_its_caller_by_it(started: dict, tmp_path: Path) -> None:
    first, _, _ = two_repos(tmp_path)
    database = tmp_path / "k.db"
    cassette = sleeping_cassette(tmp_path / "sleep.json")
    process = start_sleeping_run(first, cassette, database, "1")
    try:
        assert wait_for(lambda: sleep_running(cassette)), "the command did not start"
        [run_pid] = sqlite3.connect(database).execute("SELECT pid FROM runs").fetchone()
        os.kill(run_pid, signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        process.kill()
        subprocess.run(["pkill", "-f", sleep_command(cassette)], check=False)
    assert process.returncode == -signal.SIGKILL


def test_the_signals_a_caller_ignores_stay_ignored_in_its_run(started: dict, tmp_path: Path) -> None:
    """`nohup agent run ...` ignores SIGHUP; so must the run and the commands it starts."""
    first, second, _ = two_repos(tmp_path)
    usage = {"input_tokens": 10, "output_tokens": 5}
    cassette = write_cassette(tmp_path / "ign.json", [
        {"id": "m0", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "tool_use",
         "stop_sequence": None, "usage": usage, "content": [{"type": "tool_use", "id": "t0", "name": "run_command",
                                                             "input": {"command": "grep SigIgn /proc/self/status > ign.txt"}}]},
        {"id": "m1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
         "stop_sequence": None, "usage": usage, "content": [{"type": "text", "text": "done"}]},
    ])
    seen = {}
    for warm, repo in (("0", first), ("1", second)):
        done = subprocess.run([sys.executable, "-m", "once", "run", "--permission-mode", "full-auto", "--replay",
                               str(cassette), "--db", str(tmp_path / f"{warm}.db"), "look"], cwd=repo, text=True,
                              capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, "ONCE_WARM": warm, "ONCE_SANDBOX": "off"},
                              preexec_fn=lambda: signal.signal(signal.SIGUSR1, signal.SIG_IGN))
        assert done.returncode == 0, done.stderr
        seen[warm] = (repo / "ign.txt").read_text()
    assert seen["1"] == seen["0"] and int(seen["0"].split()[1], 16) >> (signal.SIGUSR1 - 1) & 1
    assert status(tmp_path)["runs"] == 1


def test_its_own_modules_are_watched_and_sigchld_is_not_ignored_after_a_restart(warm_dir: Path,
                                                                                 tmp_path: Path) -> None:
    import once

    package = tmp_path / "pkg" / "once"
    shutil.copytree(Path(once.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    assert agent("warm", "start", cwd=tmp_path, env=env).returncode == 0
    child = package / "warm" / "child.py"
    child.write_text(child.read_text() + "\n# changed\n")
    assert status(tmp_path, env)["stale"] is True
    first, _, cassette = two_repos(tmp_path)
    assert agent("run", "--replay", str(cassette), "--db", str(tmp_path / "a.db"), "edit", cwd=first,
                 env=env).returncode == 0
    assert wait_for(lambda: agent("warm", "status", cwd=tmp_path, env=env).returncode == 0, 90)
    restarted = status(tmp_path, env)
    assert restarted["stale"] is False
    ignored = Path(f"/proc/{restarted['pid']}/status").read_text().split("SigIgn:")[1].split()[0]
    assert not int(ignored, 16) >> (signal.SIGCHLD - 1) & 1  # a run's own children are waited for


def test_a_background_job_of_a_terminal_is_not_handed_over(tmp_path: Path) -> None:
    """Reading the terminal stops a background job; a fork of the warm process would read it."""
    code = (
        "import os, pty, sys\n"
        "from once.warm.client import _in_background\n"
        "master, slave = pty.openpty()\n"
        "name = os.ttyname(slave)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    tty = os.open(name, os.O_RDWR)  # the session's terminal from now on\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.setpgid(0, 0)\n"
        "        os.dup2(tty, 0)\n"
        "        first = _in_background()\n"
        "        os.tcsetpgrp(tty, os.getpgrp()) if False else None\n"
        "        os._exit(10 + first)\n"
        "    _, status = os.waitpid(pid, 0)\n"
        "    os._exit(os.waitstatus_to_exitcode(status))\n"
        "_, status = os.wait()\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.stdout.strip() == "11", done.stderr


def test_a_process_that_took_over_a_callers_pid_is_told_apart_by_its_start() -> None:
    """The caller's pid is read from the connection; if the caller died and its pid went to
    another process before /proc was read, that process started after the connection."""
    from once.warm.peer import boot_ticks, started_at

    assert started_at(os.getpid()) <= boot_ticks()
    accepted = boot_ticks()
    time.sleep(0.1)
    later = subprocess.Popen(["sleep", "5"])
    try:
        assert started_at(later.pid) > accepted
    finally:
        later.kill()
        later.wait()
    assert started_at(later.pid) > accepted  # gone: never taken for the caller


def test_scheduling_settings_and_start_up_variables_decide_as_the_first_audit_asked(started: dict,
                                                                                    tmp_path: Path) -> None:
    """A caller pinned to one core (`taskset`) runs on its own; one whose PYTHONUNBUFFERED or
    PYTHONDONTWRITEBYTECODE differ is still handed over (the fork takes them on); one whose
    PYTHONWARNINGS differ is not."""
    first, second, cassette = two_repos(tmp_path)
    third = make_repo(tmp_path / "three", {"a.py": "A = 1\n", "b.py": "B = 1\n"})
    pinned = subprocess.run([sys.executable, "-m", "once", "run", "--replay", str(cassette), "--db",
                             str(tmp_path / "t.db"), "edit"], cwd=first, capture_output=True, text=True,
                            timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert pinned.returncode == 0 and status(tmp_path)["runs"] == 0
    flipped = {key: "" if os.environ.get(key) else "1" for key in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")}
    applied = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "u.db"), "edit", cwd=second,
                    env={**os.environ, **flipped})
    assert applied.returncode == 0 and status(tmp_path)["runs"] == 1
    warned = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=third,
                   env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    assert warned.returncode == 0 and status(tmp_path)["runs"] == 1


def test_closed_streams_and_a_full_disk_end_as_in_a_process_of_its_own(started: dict, tmp_path: Path) -> None:
    first, second, cassette = two_repos(tmp_path)
    closed = subprocess.run(f"{sys.executable} -m once run --replay {cassette} --db {tmp_path}/c.db - <&-",
                            shell=True, cwd=first, capture_output=True, text=True, timeout=TIMEOUT)
    cold = subprocess.run(f"{sys.executable} -m once run --replay {cassette} --db {tmp_path}/d.db - <&-",
                          shell=True, cwd=second, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "ONCE_WARM": "0"})
    assert closed.returncode == cold.returncode != 0 and status(tmp_path)["runs"] == 0
    codes = {}
    for warm, repo in (("0", first), ("1", second)):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "once", "run", "--replay", str(cassette), "--db",
                                   str(tmp_path / f"f{warm}.db"), "-o", "json", "edit"], cwd=repo, stdout=full,
                                  stderr=subprocess.PIPE, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                                  env={**os.environ, "ONCE_WARM": warm, "PYTHONUNBUFFERED": ""})
        codes[warm] = done.returncode
        git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert codes["1"] == codes["0"] != 0
    assert status(tmp_path)["runs"] == 1
