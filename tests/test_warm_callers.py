"""Who the warm process hands a run to, and who runs in a process of their own (a caller
confined otherwise, a background job, closed streams), and the warm process under clients that
misbehave: malformed, silent, concurrent, killed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from once.safety.sandbox import bwrap_path, sandbox_options, wrap
from once.warm import wire
from once.warm.address import folder_is_private
from tests.conftest import git, make_repo, write_cassette
from tests.warm_fixtures import (  # noqa: F401 (fixtures)
    TIMEOUT, agent, sleep_command, sleep_running, sleeping_cassette, start_sleeping_run, started, status,
    two_repos, wait_for, warm_dir,
)


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
        reader = wire.RequestReader()  # as the server reads: until whole, then the request
        with pytest.raises(ValueError):
            while not reader.feed(right):
                pass
            reader.request()
        right.close()
        assert open_fds() == before - 2  # the pair closed, and both descriptors received


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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_silent_client_past_idle_time_does_not_spin_it(warm_dir: Path, tmp_path: Path) -> None:
    """Idle time has passed but a client is still sending its request: it waits for that client's
    deadline, without turning the loop (which once took a whole core for up to 5 s)."""
    from once.warm.address import socket_path

    assert agent("warm", "start", "--idle", "0.05", cwd=tmp_path).returncode == 0  # 3 s
    began = time.monotonic()
    pid = status(tmp_path)["pid"]
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(socket_path())  # its deadline: 5 s from now, past the idle time
    try:
        time.sleep(max(0.0, began + 3.3 - time.monotonic()))
        before = cpu_seconds(pid)
        time.sleep(1.2)
        assert cpu_seconds(pid) - before < 0.3
    finally:
        silent.close()
    assert wait_for(lambda: not list(warm_dir.glob("*.sock")), 30), "it did not stop once the client was gone"
