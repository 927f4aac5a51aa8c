"""One `agent run` in a fork of the warm process: it takes on the client's streams, folder,
umask and environment, runs as `agent` would, and reports how it ended."""

from __future__ import annotations

import atexit
import io
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from once.warm.wire import Lines


@dataclass(frozen=True)
class RunRequest:
    """A run as the client asked for it (see client.request_fields)."""

    cwd: str
    umask: int
    encodings: tuple[tuple[str, str], ...]  # stdin, stdout, stderr: (encoding, errors)
    args: list[str]
    env: dict[str, str]

    @classmethod
    def parse(cls, fields: list[bytes]) -> "RunRequest":
        """From the fields after the install key; ValueError when they do not add up."""
        text = [os.fsdecode(field) for field in fields]
        try:
            cwd, umask, pairs, count = text[0], int(text[1]), text[2:8], int(text[8])
        except (IndexError, ValueError):
            raise ValueError("a malformed run request") from None
        args, env_items = text[9:9 + count], text[9 + count:]
        if len(args) != count or any("=" not in item for item in env_items):
            raise ValueError("a malformed run request")
        encodings = tuple((pairs[i], pairs[i + 1]) for i in (0, 2, 4))
        return cls(cwd, umask, encodings, args, dict(item.split("=", 1) for item in env_items))


HANDSHAKE_SECONDS = 10.0
"""How long the client waits for the fork to be ready, and the fork for the client's go."""


def run_forked(sock, request: RunRequest, fds: list[int], ignored: list[int]) -> None:  # type: ignore[no-untyped-def]
    """The child's whole life after the fork: never returns. It runs only once the client says
    go, so a client that gave up waiting (and runs the command itself) never has it run twice."""
    code, killed_by = 1, 0
    try:
        _reset_signals(ignored)
        _take_on(request, fds)
        sock.settimeout(HANDSHAKE_SECONDS)
        sock.sendall(b"ready %d\n" % os.getpid())
        lines = Lines(sock)
        if lines.next() != b"go":
            return
        sock.settimeout(None)
        ended = threading.Event()
        threading.Thread(target=_relay_signals, args=(lines, ended), daemon=True).start()
        code, killed_by = _run(request.args)
        ended.set()
        code = _finish(code)
        _let_go_of_streams()
        sock.sendall(b"signal %d\n" % killed_by if killed_by else b"exit %d\n" % code)
    except BaseException:  # the client is told nothing: it says the run ended without a code
        pass
    finally:
        os._exit(code)


def _reset_signals(ignored: list[int]) -> None:
    """Signals as a new Python process would have them: SIGINT raises KeyboardInterrupt, the
    others act by default, and what the caller ignores (SIGHUP under nohup) is ignored."""
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in ignored:
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):
                pass


def _take_on(request: RunRequest, fds: list[int]) -> None:
    for target, fd in enumerate(fds[:3]):
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    os.chdir(request.cwd)
    os.umask(request.umask)
    os.environ.clear()
    os.environ.update(request.env)
    time.tzset()
    sys.argv = ["agent", *request.args]
    # What Python reads from these at start, taken on here (peer.py lets the rest differ in nothing).
    sys.dont_write_bytecode = bool(request.env.get("PYTHONDONTWRITEBYTECODE"))
    sys.pycache_prefix = request.env.get("PYTHONPYCACHEPREFIX") or None
    unbuffered = bool(request.env.get("PYTHONUNBUFFERED"))
    streams = [_stream(fd, *pair, unbuffered=unbuffered) for fd, pair in enumerate(request.encodings)]
    sys.stdin, sys.stdout, sys.stderr = streams
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = streams


def _stream(fd: int, encoding: str, errors: str, unbuffered: bool = False) -> io.TextIOWrapper:
    """A standard stream on `fd` as the client's Python set it up (line-buffered on a terminal;
    stderr always, and written through; both written through under PYTHONUNBUFFERED)."""
    terminal = os.isatty(fd)
    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
    return io.TextIOWrapper(buffered, encoding=encoding or "utf-8", errors=errors or "strict",
                            line_buffering=terminal or fd == 2, write_through=fd == 2 or (unbuffered and fd == 1))


def _relay_signals(lines: Lines, ended: threading.Event) -> None:
    """Signals the client passes on, raised here; the client gone (killed, say) is a hang-up."""
    while True:
        try:
            line = lines.next()
        except OSError:
            line = None
        if ended.is_set():
            return
        if line is None:
            os.kill(os.getpid(), signal.SIGHUP)
            return
        kind, _, value = line.partition(b" ")
        if kind == b"signal" and value.isdigit():
            os.kill(os.getpid(), int(value))


def _run(args: list[str]) -> tuple[int, int]:
    """Exit code and fatal signal of `agent ARGS`, as a Python process running it would end."""
    from once.cli.launch import main

    try:
        main(args, warm=False)
    except SystemExit as exc:
        return _exit_code(exc.code), 0
    except KeyboardInterrupt:
        return 130, signal.SIGINT
    except BaseException:
        traceback.print_exc()
        return 1, 0
    return 0, 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _finish(code: int) -> int:
    """What the interpreter does at exit: wait for non-daemon threads, run atexit, flush. Output
    that could not be written (a full disk, a closed pipe) makes the exit code 120, as there."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError) as exc:
            if stream is sys.stdout:
                _say(f"Exception ignored in: {stream!r}\n{type(exc).__name__}: {exc}\n")
                code = code or 120
    return code


def _let_go_of_streams() -> None:
    """Close the caller's streams before telling it the run ended: a caller reading our output
    (`out=$(agent run ...)`) sees its end as soon as the client exits, not once this large
    process has been torn down."""
    for fd in (0, 1, 2):
        try:
            os.close(fd)
        except OSError:
            pass


def _say(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
