"""The warm process: imports what `agent run` needs, then forks once per run (see once.warm).

Started by `agent warm start` as `python -P -m once.warm.server --idle SECONDS` (-P: the folder
it starts in is not on sys.path). It stops when idle that long, on `agent warm stop`, and
restarts itself when a module it imported changed on disk, so a run never uses stale code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import sys
import time

from once.warm.address import install_key, make_private_folder, package_dir, socket_path
from once.warm.wire import close_all, peer_uid, receive_request

PRELOAD = (
    "once.cli.launch", "once.cli.run_args", "once.cli.executor", "once.cli.common", "once.cli.render",
    "once.agent.runner", "once.agent.loop", "once.agent.turn", "once.agent.assemble", "once.agent.compactor",
    "once.agent.mcp_run", "once.agent.nested", "once.agent.verifier", "once.agent.small",
    "once.providers.replay", "once.providers.replay_check", "once.providers.anthropic", "once.providers.openai",
    "once.index.index", "once.index.pool", "once.index.worker", "once.index.treesitter", "once.index.fallback", "once.learn.inject", "once.recovery.recover",
    "once.recovery.worktree", "once.safety.sandbox", "once.safety.secrets", "once.safety.policy",
    "once.skills.discovery", "once.skills.routing", "once.store.store", "once.tools.command", "once.tools.edit",
    "once.tools.listing", "once.tools.read", "once.tools.search", "once.vcs.repo", "once.vent.service",
    "once.vent.tool", "once.verify.detect", "once.warm.client", "once.safety.command_rules", "once.safety.shell_split",
    "once.verify.run", "once.verify.summarize", "anthropic",
)
"""What a run imports, the model's SDK included (tests/test_warm.py checks a replayed run adds
no module of once to these)."""
DEFAULT_IDLE_SECONDS = 30 * 60


class Server:
    def __init__(self, path: str, idle_seconds: float) -> None:
        self.path, self.idle_seconds = path, idle_seconds
        self.started, self.runs = time.time(), 0
        self.stamps = _module_stamps()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def listen(self) -> None:
        make_private_folder(os.path.dirname(self.path))
        try:
            os.unlink(self.path)  # a socket left by a server that was killed
        except FileNotFoundError:
            pass
        self.listener.bind(self.path)
        self.listener.listen(16)
        self.listener.settimeout(self.idle_seconds)

    def serve(self) -> str:
        """Answer clients until idle, stopped or stale: which of the three ended it."""
        while True:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                return "idle"
            except InterruptedError:
                continue
            ended = self._answer(conn)
            if ended:
                return ended

    def close(self) -> None:
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _answer(self, conn: socket.socket) -> str | None:
        conn.settimeout(5)  # a client that connects and says nothing does not hold the others up
        fds: list[int] = []
        try:
            if peer_uid(conn) != os.geteuid():
                return None
            kind, fields, fds = receive_request(conn)
            if kind == b"ping":
                stale = int(self._stale())
                conn.sendall(f"pong {os.getpid()} {self.runs} {self.started:.0f} {self.idle_seconds:.0f} {stale}\n".encode())
            elif kind == b"stop":
                conn.sendall(b"stopping\n")
                return "stopped"
            elif kind == b"run" and fields[:1] == [os.fsencode(install_key())]:
                if self._stale():
                    conn.sendall(b"stale\n")
                    return "stale"
                self._fork(conn, fields[1:], fds)
            else:
                conn.sendall(b"other\n")
        except (OSError, ValueError):
            pass
        finally:
            close_all(fds)
            conn.close()
        return None

    def _fork(self, conn: socket.socket, fields: list[bytes], fds: list[int]) -> None:
        from once.warm.child import RunRequest, run_forked

        request = RunRequest.parse(fields)
        conn.settimeout(None)
        self.runs += 1
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            self.listener.close()
            run_forked(conn, request, fds)

    def _stale(self) -> bool:
        """Whether a module this process imported changed on disk since (an upgrade, an edit)."""
        return _module_stamps(self.stamps) != self.stamps


def _module_stamps(known: dict[str, tuple[int, ...]] | None = None) -> dict[str, tuple[int, ...]]:
    """(mtime, change time, size) of each module of once this process imported, and of each
    folder its other modules came from: an upgrade adds a new `*.dist-info` there (statting all
    ~4,000 files of the SDKs would cost every run 15 ms). A dependency edited in place is not
    noticed."""
    files = known if known is not None else _watched()
    stamps = {}
    for path in files:
        try:
            info = os.stat(path)
            stamps[path] = (info.st_mtime_ns, info.st_ctime_ns, info.st_size)
        except OSError:
            stamps[path] = (-1, -1, -1)
    return stamps


def _watched() -> dict[str, tuple[int, ...]]:
    own = package_dir() + os.sep
    folders = sorted((entry for entry in sys.path if entry and os.path.isdir(entry)), key=len, reverse=True)
    watched: dict[str, tuple[int, ...]] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        if path.startswith(own):
            watched[path] = ()
        else:
            folder = next((entry for entry in folders if path.startswith(entry.rstrip(os.sep) + os.sep)), None)
            watched[folder or os.path.dirname(path) or path] = ()
    return watched


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an SDK that is not installed: the run says so itself
    from once.lazyre import compile_all
    from once.safety import sandbox

    compile_all()  # each run would compile them again
    program = sandbox.bwrap_path()
    if program is not None:
        sandbox._works(program)  # answered once here, not probed by every run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m once.warm.server")
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS, help="seconds idle before it stops")
    args = parser.parse_args(argv)
    preload()
    server = Server(socket_path(), args.idle)
    server.listen()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runs are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"ready {os.getpid()}", flush=True)
    _quiet()
    try:
        ended = server.serve()
    finally:
        server.close()
    if ended == "stale":  # the same command line, with the code now on disk
        os.execv(sys.executable, [sys.executable, "-P", "-m", "once.warm.server", "--idle", str(args.idle)])


def _quiet() -> None:
    """After `ready`, the standard streams go to /dev/null: whoever started it may be gone."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


if __name__ == "__main__":
    main()
