"""The warm process: imports what `agent run` needs, then hands each run to a fork (see once.warm):
the spare warmed up ahead when one is ready, else one made there and then.

Started by `agent warm start` as `python -P -m once.warm.server --idle SECONDS` (-P: the folder
it starts in is not on sys.path). It stops when idle that long, on `agent warm stop`, and
restarts itself when a module it imported changed on disk, so a run never uses stale code.
"""

from __future__ import annotations

import argparse
import fcntl
import gc
import importlib
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass

from once.warm.address import compatibility, install_key, make_private_folder, package_dir, socket_path
from once.warm.child import RunRequest, run_forked
from once.warm.spare import READY, Spare, hand_over, make_spare, sweep_warm_ups
from once.warm.peer import boot_ticks, confinement, ignored_signals, mirrored_env, started_at, still_the_caller
from once.warm.wire import RequestReader, close_all, peer_credentials, peer_pidfd

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
REQUEST_SECONDS = 5.0
"""How long a request may take to arrive, and a reply to leave."""
MAX_SPARE_FAILURES = 3
"""Spares that died warming up, in a row, after which runs are forked as they come."""
HAND_OVER_SECONDS = 2.0
"""How long handing a run to the spare may take (a stopped spare reads nothing)."""
MAX_PENDING = 256
"""Requests read at once; past that the oldest waiting client is dropped (a run's client sends
its request at once, so only clients that say nothing wait)."""


class AlreadyServing(Exception):
    """Another warm process of this install holds the lock."""


@dataclass
class Pending:
    """A connection whose request is still arriving, and when it must have arrived."""

    reader: RequestReader
    deadline: float
    accepted: int
    """Clock ticks since boot when it was accepted: a caller started later is another process
    that got the caller's pid."""
    pidfd: int | None
    """The connecting process itself, where the kernel gives one (see peer.still_the_caller)."""


class Server:
    def __init__(self, path: str, idle_seconds: float) -> None:
        self.path, self.idle_seconds = path, idle_seconds
        self.started, self.runs, self.last_run = time.time(), 0, time.monotonic()
        self.stamps = _module_stamps()
        self.own = confinement()
        self.own_env = mirrored_env(dict(os.environ))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.selector = selectors.DefaultSelector()
        self.pending: dict[socket.socket, Pending] = {}
        self.running: dict[int, socket.socket] = {}
        """The connection of each run under way: a run killed by a signal cannot say so itself."""
        self.wakeup_read, self.wakeup_write = os.pipe()
        self.lock_fd = -1
        self.spare: Spare | None = None
        """A fork warmed up ahead of the next run (see once.warm.spare)."""
        self.spare_failures = 0

    def listen(self) -> None:
        """Take this install's lock, then its socket (a socket left by a killed server is replaced;
        a live one, whose server holds the lock, never is)."""
        folder = os.path.dirname(self.path)
        make_private_folder(folder)
        self.lock_fd = os.open(self.path[:-len(".sock")] + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyServing from None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.listener.bind(self.path)
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ)
        os.set_blocking(self.wakeup_write, False)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # the wake-up descriptor hears it
        signal.set_wakeup_fd(self.wakeup_write)

    def serve(self) -> str:
        """Answer clients until idle, stopped or stale: which of the three ended it. Requests are
        read as they arrive, so a client that says nothing holds up no other. Idle is counted
        from the end of the last run; pings do not count."""
        self._reap()  # a spare of the process this one replaced (exec) may have ended already
        self._refill()
        while True:
            now = time.monotonic()
            idle_at = self.last_run + self.idle_seconds
            if now >= idle_at and not self.running and not self.pending:
                return "idle"
            # Past idle time, only the waiting clients' deadlines count (0 would spin the loop).
            deadlines = [p.deadline for p in self.pending.values()] + (
                [idle_at] if not self.running and idle_at > now else [])
            timeout = max(min(deadlines) - now, 0.0) if deadlines else None
            for key, _ in self.selector.select(timeout):
                ended = self._event(key.fileobj)
                if ended:
                    return ended
            self._drop_late(time.monotonic())

    def close(self) -> None:
        """Stop listening. A spare still warming up sees its socket closed and ends by itself."""
        self._drop_spare()
        for conn in list(self.pending):
            self._forget(conn)
        for conn in self.running.values():
            conn.close()
        self.selector.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.listener.close()
        os.close(self.lock_fd)

    def _event(self, source: object) -> str | None:
        if source is self.listener:
            self._accept()
        elif source == self.wakeup_read:
            os.read(self.wakeup_read, 512)
            self._reap()
        elif self.spare is not None and source is self.spare.sock:
            self._spare_said()
        else:
            return self._read(source)  # type: ignore[arg-type]
        return None

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # out of descriptors: the oldest waiting client makes room
            if self.pending:
                self._forget(next(iter(self.pending)))
            else:
                time.sleep(0.05)
            return
        if len(self.pending) >= MAX_PENDING:
            self._forget(next(iter(self.pending)))
        try:
            if peer_credentials(conn)[1] != os.geteuid():
                conn.close()
                return
        except OSError:
            conn.close()
            return
        conn.setblocking(False)
        self.pending[conn] = Pending(RequestReader(), time.monotonic() + REQUEST_SECONDS, boot_ticks(),
                                     peer_pidfd(conn))
        self.selector.register(conn, selectors.EVENT_READ)

    def _read(self, conn: socket.socket) -> str | None:
        pending = self.pending[conn]
        try:
            whole = pending.reader.feed(conn)
        except (BlockingIOError, InterruptedError):
            return None
        except (OSError, ValueError):
            self._forget(conn)
            return None
        if not whole:
            return None
        self.selector.unregister(conn)
        del self.pending[conn]
        fds: list[int] = []
        try:
            kind, fields, fds = pending.reader.request()
            return self._answer(conn, kind, fields, fds, pending)
        except Exception:  # whatever a client sends, the server goes on
            return None
        finally:
            close_all(fds)
            if pending.pidfd is not None:
                os.close(pending.pidfd)
            if conn not in self.running.values():
                conn.close()

    def _answer(self, conn: socket.socket, kind: bytes, fields: list[bytes], fds: list[int],
                pending: Pending) -> str | None:
        conn.setblocking(True)
        conn.settimeout(REQUEST_SECONDS)
        if kind == b"ping":
            stale = int(self._stale())
            spare = self.spare.pid if self.spare is not None and self.spare.ready else 0
            conn.sendall(f"pong {os.getpid()} {self.runs} {self.started:.0f} {self.idle_seconds!r} {stale} {spare}\n"
                         .encode())
        elif kind == b"stop":
            conn.sendall(b"stopping\n")
            return "stopped"
        elif kind == b"run":
            return self._run(conn, fields, fds, pending)
        return None

    def _run(self, conn: socket.socket, fields: list[bytes], fds: list[int], pending: Pending) -> str | None:
        if fields[:2] != [os.fsencode(install_key()), os.fsencode(compatibility())]:
            conn.sendall(b"other\n")
            return None
        if self._stale():
            conn.sendall(b"stale\n")
            return "stale"
        request = RunRequest.parse(fields[2:])
        caller = peer_credentials(conn)[0]
        same = confinement(caller) == self.own and mirrored_env(request.env) == self.own_env
        # Checked after /proc was read: a pid the caller no longer holds is another process's.
        if not same or started_at(caller) > pending.accepted or not still_the_caller(pending.pidfd):
            conn.sendall(b"confined\n")  # its run would escape what confines it
            return None
        ignored = ignored_signals(caller)
        self.runs += 1
        self.last_run = time.monotonic()
        if self._hand_to_spare(conn, fields[2:], fds, ignored):
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # the fork's collections leave this process's objects (and their pages) alone
        pid = os.fork()
        if pid == 0:
            self._close_in_child(pending.pidfd)
            run_forked(conn, request, fds, ignored)
        self.running[pid] = conn
        return None

    def _hand_to_spare(self, conn: socket.socket, fields: list[bytes], fds: list[int], ignored: list[int]) -> bool:
        """The run handed to the spare, if one is ready: whether it was."""
        spare = self.spare
        if spare is None or not spare.ready:
            return False
        self.spare = None
        self.selector.unregister(spare.sock)
        try:
            spare.sock.settimeout(HAND_OVER_SECONDS)
            hand_over(spare, conn, fields, fds, ignored)
        except OSError:  # it died (or stopped reading) since it said it was ready: a fork does the run
            return False
        finally:
            spare.sock.close()
        self.running[spare.pid] = conn
        return True

    def _refill(self) -> None:
        """A new spare, unless one is there or spares keep dying."""
        if self.spare is not None or self.spare_failures >= MAX_SPARE_FAILURES:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        sweep_warm_ups(os.path.dirname(self.path))  # no spare is warming up now: what is left is a killed one's
        self.spare = make_spare(os.path.dirname(self.path), lambda: self._close_in_child(None))
        self.selector.register(self.spare.sock, selectors.EVENT_READ)

    def _spare_said(self) -> None:
        spare = self.spare
        assert spare is not None
        try:
            said = spare.sock.recv(1)
        except OSError:
            said = b""
        if said == READY:
            spare.ready = True
            self.spare_failures = 0
            return
        if not spare.ready:  # it died warming up; after MAX_SPARE_FAILURES in a row no more are made
            self.spare_failures += 1
        self._drop_spare()  # the next is made when a run ends

    def _drop_spare(self) -> None:
        if self.spare is not None:
            self.selector.unregister(self.spare.sock)
            self.spare.sock.close()
            self.spare = None

    def _close_in_child(self, caller_pidfd: int | None) -> None:
        """The fork keeps only its own connection: not the listener, the lock (which would outlive
        the server while the run goes on), the wake-up pipe, pidfds or other clients' connections."""
        signal.set_wakeup_fd(-1)
        for other, waiting in self.pending.items():
            other.close()
            close_all(waiting.reader.fds)  # a caller's streams, sent before the rest of its request
            if waiting.pidfd is not None:
                os.close(waiting.pidfd)
        for running in self.running.values():
            running.close()
        if self.spare is not None:
            self.spare.sock.close()
        self.selector.close()
        self.listener.close()
        for fd in (self.lock_fd, self.wakeup_read, self.wakeup_write, caller_pidfd):
            if fd is not None:
                os.close(fd)

    def _reap(self) -> None:
        """Runs that ended: one killed by a signal has its caller told which, as a shell would be.
        Children from before a restart are reaped too, though their callers are no longer known."""
        ended = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = self.running.pop(pid, None)
            if conn is None:
                continue
            ended = True
            self.last_run = time.monotonic()
            if os.WIFSIGNALED(status):
                try:
                    conn.sendall(b"signal %d\n" % os.WTERMSIG(status))
                except OSError:
                    pass
            conn.close()
        if ended:  # after the run, not beside it (on two cores the warm-up would slow it), and once its
            self._refill()  # connection is closed: a spare must not hold a caller's end open

    def _forget(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        pending = self.pending.pop(conn)
        pending.reader.discard()
        if pending.pidfd is not None:
            os.close(pending.pidfd)
        conn.close()

    def _drop_late(self, now: float) -> None:
        for conn in [c for c, p in self.pending.items() if p.deadline <= now]:
            self._forget(conn)

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
    parser.add_argument("--idle", type=float, default=DEFAULT_IDLE_SECONDS, help="seconds without a run before it stops")
    args = parser.parse_args(argv)
    preload()
    server = Server(socket_path(), args.idle)
    try:
        server.listen()
    except AlreadyServing:
        print("busy", flush=True)  # `agent warm start` then reports the one that runs
        return
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"ready {os.getpid()}", flush=True)
    _quiet()
    try:
        ended = server.serve()
    finally:
        server.close()
    if ended == "stale":  # the same command line, with the code now on disk
        os.execv(sys.executable, [sys.executable, "-P", "-m", "once.warm.server", "--idle", repr(args.idle)])


def _quiet() -> None:
    """After `ready`, the standard streams go to /dev/null: whoever started it may be gone."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


if __name__ == "__main__":
    main()
