"""The warm process's spare: a fork made and warmed up before a run asks (once.warm.spare).

Each test starts a real warm process in a folder of its own (tests/warm_fixtures.py)."""

from __future__ import annotations

import os
import select
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.warm_fixtures import agent, started, status, two_repos, wait_for, warm_dir  # noqa: F401 (fixtures)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _ready_spare(folder: Path) -> int:
    assert wait_for(lambda: status(folder).get("spare") is not None, 60), "no spare was made"
    return int(status(folder)["spare"])


def test_the_spare_does_the_next_run_and_another_is_made_after_it(started: dict, tmp_path: Path) -> None:
    first, _, cassette = two_repos(tmp_path)
    spare = _ready_spare(tmp_path)
    assert spare != started["pid"] and _alive(spare)
    done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=first)
    assert done.returncode == 0, done.stderr
    assert "commit" in done.stderr and (first / "b.py").read_text() == "B = 2\n"
    assert sqlite3.connect(tmp_path / "w.db").execute("SELECT pid FROM runs").fetchone()[0] == spare
    assert status(tmp_path)["runs"] == 1
    assert wait_for(lambda: not _alive(spare), 10)  # it ran once and ended, like any fork
    assert _ready_spare(tmp_path) not in (spare, started["pid"])


def test_the_warm_up_leaves_nothing_of_its_own_and_touches_nothing_of_the_users(started: dict, tmp_path: Path,
                                                                               warm_dir: Path) -> None:
    _ready_spare(tmp_path)
    home = Path(os.environ["HOME"])
    assert not (home / ".local" / "share" / "once").exists()  # the user's database was not made
    assert not (home / ".config" / "once").exists()
    assert sorted(p.suffix for p in warm_dir.iterdir()) == [".lock", ".sock"]  # its scratch folder is gone


def test_a_run_goes_on_without_the_spare_when_it_is_gone(started: dict, tmp_path: Path) -> None:
    first, _, cassette = two_repos(tmp_path)
    spare = _ready_spare(tmp_path)
    os.kill(spare, signal.SIGKILL)
    assert wait_for(lambda: not _alive(spare), 10)
    done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=first)
    assert done.returncode == 0, done.stderr
    pid = sqlite3.connect(tmp_path / "w.db").execute("SELECT pid FROM runs").fetchone()[0]
    assert pid not in (spare, started["pid"]) and status(tmp_path)["runs"] == 1
    assert subprocess.run(["git", "status", "--porcelain"], cwd=first, capture_output=True, text=True).stdout == ""
    assert _ready_spare(tmp_path) != spare  # made again after the run


def test_the_spare_ends_with_the_warm_process(started: dict, tmp_path: Path) -> None:
    spare = _ready_spare(tmp_path)
    assert agent("warm", "stop", cwd=tmp_path).returncode == 0
    assert wait_for(lambda: not _alive(spare), 10)


def test_the_spare_ends_when_the_warm_process_is_killed(started: dict, tmp_path: Path) -> None:
    spare = _ready_spare(tmp_path)
    os.kill(started["pid"], signal.SIGKILL)
    assert wait_for(lambda: not _alive(spare), 10)  # its socket pair's other end closed with the server


def _raw_client(folder: Path):  # type: ignore[no-untyped-def]
    """A connection to the warm process, as `agent run` makes one (the socket is found the same way)."""
    from once.warm.client import connect

    sock = connect()
    assert sock is not None, "no warm process to connect to"
    sock.settimeout(20)
    return sock


def test_a_run_that_ends_without_a_word_lets_its_caller_go_at_once(started: dict, tmp_path: Path) -> None:
    from once.warm.client import request_fields
    from once.warm.wire import Lines, send_request

    _ready_spare(tmp_path)
    fields = request_fields(["run", "x"])
    fields[2] = os.fsencode(str(tmp_path / "gone"))  # a folder that is not there: the run cannot start
    read_end, write_end = os.pipe()
    sock = _raw_client(tmp_path)
    try:
        started_at = time.monotonic()
        send_request(sock, b"run", fields, (read_end, write_end, write_end))
        assert Lines(sock).next() is None  # no "ready": the connection just ends
        assert time.monotonic() - started_at < 5  # not held open by the spare made after it (10 s handshake)
    finally:
        sock.close()
        os.close(read_end)
        os.close(write_end)


def test_a_spare_never_holds_the_streams_of_a_caller_still_sending(started: dict, tmp_path: Path) -> None:
    import struct

    from once.warm.wire import HEADER

    first, _, cassette = two_repos(tmp_path)
    read_end, write_end = os.pipe()
    slow = _raw_client(tmp_path)
    try:  # the header and the streams, then nothing: the request is still arriving
        slow.sendmsg([struct.pack(HEADER, b"run ", 1000)],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", write_end, write_end, write_end))])
        os.close(write_end)
        done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=first)
        assert done.returncode == 0, done.stderr
        _ready_spare(tmp_path)  # made after that run, while the slow caller's streams were held
        # The server lets the slow caller go after its deadline; then nobody may hold its stdout.
        ready, _, _ = select.select([read_end], [], [], 15)
        assert ready and os.read(read_end, 10) == b""
    finally:
        slow.close()
        os.close(read_end)


def test_a_killed_spares_scratch_folder_is_swept_when_the_next_is_made(started: dict, tmp_path: Path,
                                                                       warm_dir: Path) -> None:
    first, _, cassette = two_repos(tmp_path)
    left = warm_dir / "warm-up-left"  # what a spare killed while warming up leaves
    (left / "repo").mkdir(parents=True)
    done = agent("run", "--replay", str(cassette), "--db", str(tmp_path / "w.db"), "edit", cwd=first)
    assert done.returncode == 0, done.stderr
    _ready_spare(tmp_path)
    assert not left.exists()
