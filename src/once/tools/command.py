"""`run_command`: a shell command in the repository, bounded in time and output.

The command runs in a session of its own, so on a timeout, Ctrl-C, or a cancel from the
app (the context's `cancel` event, polled while the command runs) the whole process group
is stopped, background children included. Staged edits are written first, so the command
sees them.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator, Literal

from once.safety.env import scrubbed_env
from once.safety.sandbox import SandboxMissing, denial_hint, wrap
from once.tools.base import Tool, ToolContext, ToolOutput
from once.vcs.safe_env import command_git_env

HEAD_LINES = 100
TAIL_LINES = 100
MAX_OUTPUT_CHARS = 30_000
CAPTURE_BYTES = 1_000_000
"""Bytes kept from each end of the raw output; the middle is counted, not kept."""
TERM_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL."""
DETACH_GRACE = 0.5
"""How long output may stay open after the shell itself has exited."""
_POLL = 0.1
"""How often a waiting command checks its deadline and the cancel event (seconds)."""
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CANCELLED_NOTE = "cancelled by the user; the command and every process it started were stopped"

Ending = Literal["exited", "timeout", "detached", "cancelled"]


@dataclass
class _Capture:
    """Output as it arrives: the start and the end kept, the middle only counted."""

    head: bytearray = field(default_factory=bytearray)
    tail: deque[bytes] = field(default_factory=deque)
    tail_size: int = 0
    dropped: int = 0

    def add(self, data: bytes) -> None:
        room = CAPTURE_BYTES - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail.append(data)
        self.tail_size += len(data)
        while self.tail_size - len(self.tail[0]) >= CAPTURE_BYTES:
            self.dropped += len(self.tail[0])
            self.tail_size -= len(self.tail.popleft())

    def text(self) -> str:
        head = bytes(self.head).decode("utf-8", errors="replace")
        tail = b"".join(self.tail).decode("utf-8", errors="replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes of output trimmed ...]\n{tail}"
        return (bytes(self.head) + b"".join(self.tail)).decode("utf-8", errors="replace")


@dataclass
class _Outcome:
    code: int
    output: str
    timed_out: bool = False
    detached_stopped: bool = False
    cancelled: bool = False
    sandboxed: bool = False


def run_command(ctx: ToolContext, command: str, timeout: float | None = None) -> ToolOutput:
    if not command.strip():
        return ToolOutput("command is empty; give a shell command to run.", is_error=True)
    refusal = ctx.check_command(command) if ctx.check_command is not None else None
    if refusal is not None:
        return ToolOutput(refusal if refusal.startswith("The command was not run") else f"The command was not run. {refusal}", is_error=True)
    if ctx.cancel is not None and ctx.cancel.is_set():  # e.g. cancelled while its approval waited
        return ToolOutput("The command was not run: the run was cancelled by the user.", is_error=True)
    try:
        ctx.workspace.flush()
    except OSError as exc:
        return ToolOutput(f"The staged edits could not be written, so the command was not run: {exc}", is_error=True)
    limit, note = _limit(ctx, timeout)
    env = ctx.command_env if ctx.command_env is not None else scrubbed_env(os.environ)
    try:
        outcome = _run(command, str(ctx.workspace.root), env, limit, ctx.cancel, sandbox=ctx.sandbox)
    except SandboxMissing as exc:
        return ToolOutput(f"The command was not run: {exc}.", is_error=True)
    except OSError as exc:
        return ToolOutput(f"Could not start the command: {exc}", is_error=True)
    return _result(outcome, limit, note, network=ctx.sandbox[1])


def _limit(ctx: ToolContext, timeout: float | None) -> tuple[float, str]:
    if timeout is None or timeout <= 0:
        return ctx.default_timeout, ""
    if timeout > ctx.max_timeout:
        return ctx.max_timeout, f" (timeout capped at {ctx.max_timeout:g} s)"
    return float(timeout), ""


@contextmanager
def _interrupts_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C (and SIGTERM/SIGHUP) while the child starts: an interrupt raised inside
    Popen would lose the child's pid and leave it running. The caller re-raises after."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {sig: signal.getsignal(sig) for sig in _INTERRUPTS}
    for sig in _INTERRUPTS:
        if previous[sig] not in (signal.SIG_IGN, signal.SIG_DFL, None):
            signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


def _run(command: str, cwd: str, env: dict[str, str], limit: float,
         cancel: threading.Event | None = None, *, sandbox: tuple[str, bool] = ("off", False)) -> _Outcome:
    """Run `command` to its end, its deadline, or `cancel` being set; the group is stopped on the way out.
    In the sandbox when `sandbox` asks for one (raises SandboxMissing when it must and cannot)."""
    argv = wrap(command, cwd, sandbox[0], network=sandbox[1])
    env = command_git_env(env, Path(cwd))  # its git ignores programs the repository's config names
    with _interrupts_deferred() as caught:
        proc = subprocess.Popen(
            argv if argv is not None else command, shell=argv is None, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
    assert proc.stdout is not None
    capture = _Capture()
    try:
        if caught:
            raise KeyboardInterrupt
        deadline = time.monotonic() + limit
        ending = _pump(proc, proc.stdout, capture, deadline, cancel)
        if ending == "exited":
            ending = _wait_exit(proc, deadline, cancel)  # output closed; the shell may still be running
        if ending != "exited":
            _stop(proc)
            _drain(proc.stdout, capture)
        code = proc.wait(timeout=TERM_GRACE * 2)
    except BaseException:  # Ctrl-C included: never leave the command running
        _stop(proc)
        raise
    finally:
        proc.stdout.close()
    return _Outcome(code, capture.text(), timed_out=ending == "timeout", detached_stopped=ending == "detached",
                    cancelled=ending == "cancelled", sandboxed=argv is not None)


def _pump(proc: subprocess.Popen[bytes], stream: IO[bytes], capture: _Capture, deadline: float,
          cancel: threading.Event | None) -> Ending:
    """Read output until it closes ("exited"), the deadline passes, the run is cancelled, or the shell
    has exited while background children still hold the output open ("detached")."""
    exited_at: float | None = None
    fd = stream.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if cancel is not None and cancel.is_set():
                return "cancelled"
            if now >= deadline:
                return "timeout"
            if exited_at is not None and now - exited_at >= DETACH_GRACE:
                # Background children still hold the output open; stop them rather than wait.
                return "detached"
            if selector.select(timeout=_POLL):
                data = os.read(fd, 65536)
                if not data:
                    return "exited"
                capture.add(data)


def _wait_exit(proc: subprocess.Popen[bytes], deadline: float, cancel: threading.Event | None) -> Ending:
    """The output is closed (e.g. `exec >/dev/null`): wait for the shell, still bounded and cancellable."""
    while True:
        try:
            proc.wait(timeout=_POLL)
            return "exited"
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if time.monotonic() >= deadline:
            return "timeout"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the group with interrupts held: a second Ctrl-C must not cut the grace short and leave
    processes running. One that arrived meanwhile is raised after."""
    with _interrupts_deferred() as caught:
        stop_group(proc)
    if caught:
        raise KeyboardInterrupt


def _drain(stream: IO[bytes], capture: _Capture) -> None:
    """Collect what the stopped processes left in the pipe, without waiting long."""
    fd = stream.fileno()
    deadline = time.monotonic() + 1.0
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline and selector.select(timeout=0.1):
            data = os.read(fd, 65536)
            if not data:
                return
            capture.add(data)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, then SIGKILL whatever is left after a grace."""
    pgid = proc.pid  # start_new_session: the shell leads its own group
    if _signal_group(pgid, signal.SIGTERM):
        deadline = time.monotonic() + TERM_GRACE
        while _group_alive(pgid) and time.monotonic() < deadline:
            proc.poll()  # reap the shell as soon as it dies
            time.sleep(0.02)
        if _group_alive(pgid):
            _signal_group(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=TERM_GRACE)
    except subprocess.TimeoutExpired:
        pass


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(pgid: int) -> bool:
    """Is a live process left in the group?

    Orphans that died stay zombies until init reaps them, and some container inits
    never do; where /proc exists, zombies do not count.
    """
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return True
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and fields[2] == str(pgid):
            return True
    return False


def trim_output(text: str) -> str:
    """Keep the first and last lines (and at most MAX_OUTPUT_CHARS), saying what was cut."""
    lines = [_last_redraw(line) for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    joined = "\n".join(lines)
    if len(lines) > HEAD_LINES + TAIL_LINES:
        cut = len(lines) - HEAD_LINES - TAIL_LINES
        tail = len("\n".join(lines[-TAIL_LINES:]))
        joined = _keep_ends(joined, len("\n".join(lines[:HEAD_LINES])), len(joined) - tail,
                            f"[... {cut} lines trimmed ...]")
    if len(joined) > MAX_OUTPUT_CHARS:
        half = MAX_OUTPUT_CHARS // 2
        joined = _keep_ends(joined, half, len(joined) - half, "[... {} characters trimmed ...]")
    return joined


def _keep_ends(text: str, head_end: int, tail_start: int, note: str) -> str:
    """The head and tail of `text`, cut where no secret is cut in two (one cut short would not be
    recognised, and so be stored as it is), and a note between them ({} gets the count cut)."""
    from once.safety.redact import cut_before_secret, start_after_secret

    head_end, tail_start = cut_before_secret(text, head_end), start_after_secret(text, tail_start)
    return f"{text[:head_end]}\n{note.format(tail_start - head_end)}\n{text[tail_start:]}"


def _last_redraw(line: str) -> str:
    """A progress bar redraws its line with \\r; only the last state is worth reading."""
    line = line.removesuffix("\r")
    return line.rsplit("\r", 1)[-1] if "\r" in line else line


def _result(outcome: _Outcome, limit: float, note: str, *, network: bool = False) -> ToolOutput:
    if outcome.timed_out:
        head = (f"Exit code: {outcome.code} (timed out after {limit:g} s{note}; the command and every process "
                "it started were stopped. Pass a larger timeout, or run something shorter.)")
    elif outcome.cancelled:
        head = f"Exit code: {outcome.code} ({CANCELLED_NOTE}.)"
    else:
        head = f"Exit code: {outcome.code}"
    output = trim_output(outcome.output)
    body = output if output.strip() else "(no output)"
    text = f"{head}\n{body}"
    if outcome.detached_stopped:
        text += ("\n[background processes still writing to the output were stopped when the command finished; "
                 "redirect their output (e.g. `cmd > log.txt 2>&1 &`) to keep them running]")
    hint = denial_hint(outcome.output, network) if outcome.sandboxed and outcome.code != 0 else None
    if hint is not None:
        text += "\n" + hint
    return ToolOutput(text, is_error=outcome.timed_out or outcome.cancelled or outcome.code != 0)


def run_command_tool() -> Tool:
    return Tool(
        name="run_command",
        description=(
            "Run a shell command (sh -c) in the repository root and get its exit code and combined "
            "stdout/stderr. Edits made earlier are written to disk first. No input is given (stdin is empty), "
            "so avoid interactive programs. Long output keeps its first and last lines. On timeout (seconds, "
            "default 120) the command and all its child processes are stopped."
        ),
        input_schema={
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The shell command, e.g. 'python -m pytest -q tests/'."},
                "timeout": {"type": "number", "description": "Seconds before the command is stopped (default 120)."},
            },
            "required": ["command"],
        },
        func=run_command,
    )
