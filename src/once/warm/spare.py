"""The spare: a fork of the warm process made before any run asks, warmed up by a run of its own.

A fresh fork pays, inside the run it was made for, the fork itself and a copy-on-write fault for
each page of the warm process the run writes to (~2,500 pages: reference counts change as soon
as an object is used). The spare pays both ahead: it does a replayed two-file edit in a scratch
repository, then waits for the server to hand it a run. Whatever the warm-up left in memory is
keyed by its own repository, database and folders, all under a scratch folder removed at once.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

from once.warm.child import RunRequest, run_forked
from once.warm.wire import RequestReader, send_request

HAND_OVER = b"hand"
READY = b"r"
_FDS = 4  # the caller's connection, then its three standard streams
_WARM_UP_PREFIX = "warm-up-"


@dataclass
class Spare:
    """A spare as the server sees it: its pid, the server's end of their socket pair, and whether
    its warm-up is done (it says so with one byte)."""

    pid: int
    sock: socket.socket
    ready: bool = False


def make_spare(folder: str, close_inherited: Callable[[], None]) -> Spare:
    """Fork a spare; in it, `close_inherited` drops what it must not keep of the server's."""
    server_end, spare_end = socket.socketpair()
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        server_end.close()
        close_inherited()
        _spare_life(spare_end, folder)
    spare_end.close()
    return Spare(pid, server_end)


def hand_over(spare: Spare, conn: socket.socket, fields: list[bytes], fds: list[int], ignored: list[int]) -> None:
    """Give the spare a run: the caller's connection, its streams, the run request's fields (after
    the install key) and the signals the caller ignores. OSError when the spare is gone."""
    send_request(spare.sock, HAND_OVER, [",".join(map(str, ignored)).encode(), *fields], (conn.fileno(), *fds))


def _spare_life(sock: socket.socket, folder: str) -> None:
    """The spare's whole life: warm up, say so, wait to be handed a run and run it. Never returns;
    the server gone (its end closed) ends it."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, _exit_cleanly)  # a warm-up stopped removes its folder
        warm_up(folder)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sock.sendall(READY)
        handed = _receive(sock)
    except BaseException:
        os._exit(1)
    if handed is None:
        os._exit(0)
    conn, request, fds, ignored = handed
    run_forked(conn, request, fds, ignored)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(1)


def sweep_warm_ups(folder: str) -> None:
    """Remove scratch folders that killed spares left (SIGKILL leaves no time to clean)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(_WARM_UP_PREFIX):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _receive(sock: socket.socket) -> tuple[socket.socket, RunRequest, list[int], list[int]] | None:
    reader = RequestReader(max_fds=_FDS)
    try:
        while not reader.feed(sock):
            pass
        kind, fields, fds = reader.request()
    except (OSError, ValueError):
        return None
    if kind != HAND_OVER or len(fds) != _FDS:
        return None
    ignored = [int(part) for part in fields[0].split(b",") if part.isdigit()]
    conn = socket.socket(fileno=fds[0])
    sock.close()
    return conn, RunRequest.parse(fields[1:]), fds[1:], ignored


def warm_up(folder: str) -> None:
    """A replayed two-file edit and its commit, in a scratch repository with a scratch home: it
    touches what a run touches, and nothing of the user's. Its output goes nowhere."""
    from once.cli.launch import main

    scratch = tempfile.mkdtemp(prefix=_WARM_UP_PREFIX, dir=folder)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    try:
        os.environ.clear()
        os.environ.update(_scratch_env(scratch, saved_env))
        repo = _scratch_repo(scratch)
        cassette = os.path.join(scratch, "cassette.json")
        with open(cassette, "w", encoding="utf-8") as out:
            json.dump(_cassette(), out)
        os.chdir(repo)
        with open(os.devnull, "r", encoding="utf-8") as null_in, open(os.devnull, "w", encoding="utf-8") as null:
            sys.stdin, sys.stdout, sys.stderr = null_in, null, null
            try:
                main(["run", "--replay", cassette, "--db", os.path.join(scratch, "once.db"), "warm up"], warm=False)
            except SystemExit:
                pass
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_env(scratch: str, env: dict[str, str]) -> dict[str, str]:
    home = os.path.join(scratch, "home")
    os.mkdir(home)
    kept = {key: env[key] for key in ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR") if key in env}
    return {**kept, "HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"), "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_STATE_HOME": os.path.join(home, ".local", "state"), "GIT_CONFIG_NOSYSTEM": "1",
            "ONCE_WARM": "0", "ONCE_SANDBOX": "off"}


def _scratch_repo(scratch: str) -> str:
    repo = os.path.join(scratch, "repo")
    os.mkdir(repo)
    for name in ("a.py", "b.py"):
        with open(os.path.join(repo, name), "w", encoding="utf-8") as out:
            out.write(f"{name[0].upper()} = 1\n")
    identity = ["-c", "user.name=once", "-c", "user.email=once@localhost", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "--no-verify", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)
    return repo


def _cassette() -> dict[str, object]:
    usage = {"input_tokens": 10, "output_tokens": 5}
    edits = [{"type": "tool_use", "id": f"t{name}", "name": "edit_file",
              "input": {"path": f"{name}.py", "old_string": f"{name.upper()} = 1\n",
                        "new_string": f"{name.upper()} = 2\n"}}
             for name in ("a", "b")]

    def message(index: int, content: list[dict[str, object]], stop: str) -> dict[str, object]:
        return {"id": f"m{index}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
                "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}

    return {"version": 1, "responses": [message(0, [{"type": "text", "text": "Edit."}, *edits], "tool_use"),
                                        message(1, [{"type": "text", "text": "done"}], "end_turn")]}
