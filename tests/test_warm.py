"""The warm process: `agent run` handed to a fork of a process that has imported everything.

Each test starts a real warm process (`agent warm start`) with its socket in a folder of its
own, and stops it at the end. Who is handed over and who is not, and clients that misbehave:
test_warm_callers.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli_startup import two_file_edit
from tests.warm_fixtures import (  # noqa: F401 (fixtures)
    TIMEOUT, agent, process_state, sleep_command, sleep_running, sleeping_cassette, start_sleeping_run, started,
    status, two_repos, wait_for, warm_dir, without_ids,
)


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


