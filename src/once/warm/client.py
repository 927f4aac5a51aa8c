"""`agent run` through the warm process, when one is running (see once.warm).

On the path of every `agent run`, so it imports only C modules: checking for the socket costs
a stat when no warm process runs.
"""

from __future__ import annotations

import _signal
import _socket
import os
import sys

from once.warm.address import OFF_ENV, compatibility, folder_is_private, install_key, socket_path
from once.warm.wire import Lines, peer_credentials, send_request

HANDSHAKE_SECONDS = 10.0
"""How long to wait for the warm process's fork to be ready before running in this process."""
RELAYED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT)
"""Signals the client passes on to the run (Ctrl-C reaches the client, which the terminal sees)."""


def run_warm(args: list[str]) -> int | None:
    """Run `agent ARGS` in a fork of the warm process: its exit code, or None when there is no
    warm process for this install (or it cannot take the run) and the caller should run it."""
    if os.environ.get(OFF_ENV) == "0" or _in_background() or not _streams_open():
        return None
    sock = connect()
    if sock is None:
        return None
    lines = Lines(sock)
    pid = _handshake(sock, lines, args)
    if pid is None:
        # Stale, another install, a confined caller, or no answer in time: nothing ran (the fork
        # runs only on `go`), so this process runs it.
        sock.close()
        return None
    return Relay(sock, lines, pid).wait()  # from here on the run is the fork's, whatever happens


def _handshake(sock: _socket.socket, lines: Lines, args: list[str]) -> int | None:
    """Hand the run over: the pid of the fork about to run it, or None when none will."""
    try:
        sock.settimeout(HANDSHAKE_SECONDS)
        send_request(sock, b"run", request_fields(args), (0, 1, 2))
        kind, _, pid = (lines.next() or b"").partition(b" ")
        if kind != b"ready" or not pid.isdigit():
            return None
        sock.sendall(b"go\n")
        sock.settimeout(None)
    except (OSError, ValueError):
        return None
    return int(pid)


def connect() -> _socket.socket | None:
    """A connection to this install's warm process: its socket in a private folder, and a
    process of this user listening there. None when there is none."""
    path = socket_path()
    if not os.path.exists(path) or not folder_is_private(os.path.dirname(path)):
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        if peer_credentials(sock)[1] == os.geteuid():
            return sock
    except OSError:
        pass
    sock.close()
    return None


def _in_background() -> bool:
    """A background job of a terminal: reading it stops this process (SIGTTIN), which a fork of
    the warm process, outside the terminal's session, would not be; it would read the keys."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) != os.getpgrp():
                return True
        except OSError:
            continue
    return False


def request_fields(args: list[str]) -> list[bytes]:
    """What the run needs of this process: the install it expects, the folder, umask, how the
    streams are encoded, the arguments and the environment."""
    umask = os.umask(0o022)
    os.umask(umask)
    streams = [(stream.encoding or "", stream.errors or "") if stream is not None else ("", "")
               for stream in (sys.stdin, sys.stdout, sys.stderr)]
    fields = [install_key(), compatibility(), os.getcwd(), str(umask), *(part for pair in streams for part in pair), str(len(args))]
    encoded = [os.fsencode(field) for field in [*fields, *args]]
    return encoded + [os.fsencode(key) + b"=" + os.fsencode(value) for key, value in os.environ.items()]


def _streams_open() -> bool:
    """Whether descriptors 0, 1 and 2 are open. A closed one would be the socket's once connected
    (`agent run - <&-` would hand the run its own connection as stdin): run in this process."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            return False
    return True



class Relay:
    """While the run goes on: signals passed on to it, and its end read back."""

    def __init__(self, sock: _socket.socket, lines: Lines, pid: int) -> None:
        self.sock, self.lines, self.pid, self.fatal = sock, lines, pid, 0

    def wait(self) -> int:
        for sig in (*RELAYED, _signal.SIGTSTP):
            if _signal.getsignal(sig) != _signal.SIG_IGN:  # ignored here (a background job): not passed on
                _signal.signal(sig, self._stop if sig == _signal.SIGTSTP else self._pass_on)
        while True:
            try:
                line = self.lines.next()
            except OSError:
                line = None
            if line is None:
                if self.fatal:  # the run ended of the signal passed to it, as this process would have
                    die_of(self.fatal)
                sys.stderr.write("error: the run's process ended without an exit code\n"
                                 "hint: `agent log` shows what the run did; ONCE_WARM=0 runs the next one in "
                                 "its own process.\n")
                return 1
            kind, _, value = line.partition(b" ")
            if kind == b"exit" and value.isdigit():
                return int(value)
            if kind == b"signal" and value.isdigit():
                die_of(int(value))

    def _pass_on(self, signum: int, frame: object) -> None:
        if signum != _signal.SIGINT:
            self.fatal = signum
        self._send(signum)

    def _stop(self, signum: int, frame: object) -> None:
        """Ctrl-Z stops the run with this process; `fg` continues both. Signalled by pid: a
        stopped run could not read a request to continue. Past the kill this process runs again:
        continued, or never stopped (the kernel drops the stop in an orphaned process group)."""
        self._kill(_signal.SIGSTOP)
        _signal.signal(_signal.SIGTSTP, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGTSTP)
        _signal.signal(_signal.SIGTSTP, self._stop)
        self._kill(_signal.SIGCONT)

    def _kill(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except OSError:
            pass

    def _send(self, signum: int) -> None:
        try:
            self.sock.sendall(b"signal %d\n" % signum)
        except OSError:
            pass


def die_of(signum: int) -> None:
    """End this process by `signum`, as the run's process ended (Python's own way for an
    uncaught Ctrl-C); exit with 128 + signum if the signal is ignored here."""
    try:
        sys.stdout.flush()
        _signal.signal(signum, _signal.SIG_DFL)  # SIGKILL's and SIGSTOP's cannot be set: no need
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)
