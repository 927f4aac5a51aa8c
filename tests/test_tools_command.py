"""run_command: exit codes, timeouts that stop the whole process group, trimming, env."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from once.safety.env import is_credential_name, scrubbed_env, without_credentials
from once.tools.base import ToolContext
from once.tools.command import run_command, trim_output
from once.tools.workspace import Workspace


def ctx(root: Path, **settings: float) -> ToolContext:
    return ToolContext(workspace=Workspace(root), **settings)  # type: ignore[arg-type]


def _stat(pid: int | str) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid: int) -> bool:
    """Is `pid` a live process? A zombie waiting to be reaped counts as gone."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def group_alive(pgid: int, settle: float = 1.0) -> bool:
    """Does any live process remain in the group, `settle` seconds on? A member killed a moment
    ago may still be exiting; one that survives its SIGKILL for a second is alive."""
    deadline = time.monotonic() + settle
    while _live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _live_members(pgid)


def _live_members(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Members may be zombies that init has not reaped yet; only live ones count.
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_for(path: Path, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def test_exit_code_and_output(tmp_path: Path) -> None:
    out = run_command(ctx(tmp_path), "echo hello; pwd")
    assert not out.is_error
    assert out.text == f"Exit code: 0\nhello\n{os.path.realpath(tmp_path)}"


def test_non_zero_exit_is_an_error_with_stderr_merged(tmp_path: Path) -> None:
    out = run_command(ctx(tmp_path), "echo to-out; echo to-err >&2; exit 3")
    assert out.is_error
    assert out.text == "Exit code: 3\nto-out\nto-err"


def test_no_output_and_invalid_utf8(tmp_path: Path) -> None:
    assert run_command(ctx(tmp_path), "true").text == "Exit code: 0\n(no output)"
    assert run_command(ctx(tmp_path), r"printf '\377ok'").text == "Exit code: 0\n\ufffdok"
    assert run_command(ctx(tmp_path), "   ").is_error


def test_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    command = "echo $$ > pgid; sleep 30 & echo $! > child; echo started; wait"
    started = time.monotonic()
    out = run_command(ctx(tmp_path, max_timeout=1.0), command, timeout=60)
    assert time.monotonic() - started < 8
    assert out.is_error
    assert "timed out after 1 s (timeout capped at 1 s)" in out.text.splitlines()[0]
    assert out.text.startswith("Exit code: ")
    assert "started" in out.text
    pgid, child = int((tmp_path / "pgid").read_text()), int((tmp_path / "child").read_text())
    assert not alive(child)
    assert not group_alive(pgid)


def test_background_child_holding_the_output_is_stopped(tmp_path: Path) -> None:
    started = time.monotonic()
    out = run_command(ctx(tmp_path), "sleep 30 & echo $! > child; echo done")
    assert time.monotonic() - started < 5
    assert out.text.startswith("Exit code: 0\ndone\n[background processes")
    assert not alive(int((tmp_path / "child").read_text()))


def test_background_child_with_redirected_output_keeps_running(tmp_path: Path) -> None:
    out = run_command(ctx(tmp_path), "sleep 30 > /dev/null 2>&1 & echo $! > child")
    child = int((tmp_path / "child").read_text())
    try:
        assert out.text == "Exit code: 0\n(no output)"
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)


def test_ctrl_c_stops_the_group_and_is_re_raised(tmp_path: Path) -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    pid_file = tmp_path / "pgid"

    def interrupt() -> None:
        wait_for(pid_file)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupt)
    thread.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_command(ctx(tmp_path), "echo $$ > pgid; sleep 30 & echo $! > child; wait", timeout=20)
    finally:
        thread.join()
        signal.signal(signal.SIGINT, previous)
    assert not alive(int((tmp_path / "child").read_text()))
    assert not group_alive(int(pid_file.read_text()))


def test_long_output_is_trimmed_and_says_so(tmp_path: Path) -> None:
    out = run_command(ctx(tmp_path), "seq 1 1000")
    lines = out.text.splitlines()
    assert lines[0] == "Exit code: 0"
    assert lines[1:101] == [str(i) for i in range(1, 101)]
    assert lines[101] == "[... 800 lines trimmed ...]"
    assert lines[102:] == [str(i) for i in range(901, 1001)]
    wide = run_command(ctx(tmp_path), "printf '%080000d' 0")
    assert "[... 50000 characters trimmed ...]" in wide.text
    assert len(wide.text) < 31_000


def test_trim_keeps_the_last_state_of_progress_bars() -> None:
    assert trim_output("10%\r50%\r100%\nok\r\n") == "100%\nok"


def test_child_never_sees_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
    monkeypatch.setenv("ONCE_SAFE_SETTING", "kept")
    out = run_command(ctx(tmp_path), 'echo "key=${ANTHROPIC_API_KEY:-unset} other=$ONCE_SAFE_SETTING"')
    assert out.text == "Exit code: 0\nkey=unset other=kept"
    given = ctx(tmp_path)
    given.command_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ONLY": "this"}
    assert run_command(given, 'echo "$ONLY ${ANTHROPIC_API_KEY:-unset}"').text == "Exit code: 0\nthis unset"


def test_a_url_with_a_password_is_not_handed_to_commands() -> None:
    env = without_credentials({"DATABASE_URL": "postgres://app:hunter2@db/app", "DOCS_URL": "https://x.org/a:b"})
    assert env == {"DOCS_URL": "https://x.org/a:b"}
    named = scrubbed_env({"DATABASE_URL": "postgres://app:hunter2@db/app", "HTTPS_PROXY": "http://u:pw@proxy:3128"},
                         ["DATABASE_URL"])
    assert named == {}


def test_staged_edits_are_flushed_before_the_command(tmp_path: Path) -> None:
    c = ctx(tmp_path)
    c.workspace.stage("notes/new.txt", b"staged content\n")
    assert not (tmp_path / "notes" / "new.txt").exists()
    out = run_command(c, "cat notes/new.txt")
    assert out.text == "Exit code: 0\nstaged content"
    assert c.workspace.pending_paths() == []
    assert [ch.path for ch in c.workspace.take_turn_changes()] == ["notes/new.txt"]


@pytest.mark.parametrize(("name", "removed"), [
    ("ANTHROPIC_API_KEY", True), ("ANTHROPIC_AUTH_TOKEN", True), ("OPENAI_API_KEY", True),
    ("GEMINI_API_KEY", True), ("ONCE_GITHUB_TOKEN", True), ("OPENAI_CLIENT_SECRET", True),
    ("ANTHROPIC_PROXY_PASSWORD", True), ("ANTHROPIC_BASE_URL", False), ("ONCE_DB", False),
    ("PATH", False), ("GITHUB_TOKEN", True), ("HOME", False), ("AWS_SECRET_ACCESS_KEY", True),
    ("AWS_ACCESS_KEY_ID", True), ("AWS_SESSION_TOKEN", True), ("NPM_AUTH", True), ("STRIPE_KEY", True),
    ("DB_PASSWORD", True), ("SSH_AUTH_SOCK", True), ("PWD", False), ("GIT_AUTHOR_NAME", False), ("LANG", False),
    ("PYTHONPATH", False), ("KEYTIMEOUT", False),
])
def test_credential_names(name: str, removed: bool) -> None:
    assert is_credential_name(name) is removed
    env = without_credentials({name: "sk-ant-test-0000", "KEEP": "1"})
    assert ("KEEP" in env) and ((name in env) is not removed)
    assert scrubbed_env({name: "sk-ant-test-0000"}, ["*"]) == ({} if removed else {name: "sk-ant-test-0000"})


def test_commands_get_the_toolchain_environment_and_what_the_user_names() -> None:
    environ = {"PATH": "/usr/bin", "HOME": "/home/dev", "LC_ALL": "C.UTF-8", "PYTHONPATH": "src",
               "VIRTUAL_ENV": "/v", "NODE_OPTIONS": "--max-old-space-size=4096", "GIT_AUTHOR_NAME": "Dev",
               "MYAPP_MODE": "test", "DATABASE_URL": "postgres://localhost/app", "SLACK_WEBHOOK": "https://hooks/x",
               "MYAPP_TOKEN": "t0ken"}
    env = scrubbed_env(environ)
    assert set(env) == {"PATH", "HOME", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "NODE_OPTIONS", "GIT_AUTHOR_NAME"}
    named = scrubbed_env(environ, ["MYAPP_*", "DATABASE_URL"])
    assert set(named) - set(env) == {"MYAPP_MODE", "DATABASE_URL"}  # never MYAPP_TOKEN: a credential


def _cancel_when(path: Path, cancel: threading.Event) -> threading.Thread:
    """Sets `cancel` once the command has written its pid file (so it is surely running)."""
    def later() -> None:
        wait_for(path)
        time.sleep(0.1)
        cancel.set()

    thread = threading.Thread(target=later)
    thread.start()
    return thread


def test_the_cancel_event_stops_the_whole_group_promptly(tmp_path: Path) -> None:
    cancel = threading.Event()
    c = ToolContext(workspace=Workspace(tmp_path), cancel=cancel)
    thread = _cancel_when(tmp_path / "pgid", cancel)
    started = time.monotonic()
    try:
        out = run_command(c, "echo $$ > pgid; sleep 30 & echo $! > child; echo started; wait", timeout=60)
    finally:
        thread.join()
    assert time.monotonic() - started < 5  # not the 30 s the command wanted
    assert out.is_error
    first = out.text.splitlines()[0]
    assert first.startswith("Exit code: ") and "cancelled by the user" in first
    assert "started" in out.text  # what it printed before the cancel is kept
    assert not alive(int((tmp_path / "child").read_text()))
    assert not group_alive(int((tmp_path / "pgid").read_text()))


def test_a_command_ignoring_sigterm_is_killed_after_the_grace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("once.tools.command.TERM_GRACE", 0.3)
    cancel = threading.Event()
    c = ToolContext(workspace=Workspace(tmp_path), cancel=cancel)
    thread = _cancel_when(tmp_path / "pgid", cancel)
    try:
        out = run_command(c, "trap '' TERM; echo $$ > pgid; while true; do sleep 0.05; done", timeout=60)
    finally:
        thread.join()
    assert "cancelled by the user" in out.text.splitlines()[0]
    assert not group_alive(int((tmp_path / "pgid").read_text()))


def test_cancel_reaches_a_command_whose_output_is_closed(tmp_path: Path) -> None:
    # The shell closes its output first, so only waiting on the process (not reading) notices the cancel.
    cancel = threading.Event()
    c = ToolContext(workspace=Workspace(tmp_path), cancel=cancel)
    thread = _cancel_when(tmp_path / "pgid", cancel)
    started = time.monotonic()
    try:
        out = run_command(c, "exec >/dev/null 2>&1; echo $$ > pgid; sleep 30", timeout=60)
    finally:
        thread.join()
    assert time.monotonic() - started < 5
    assert "cancelled by the user" in out.text.splitlines()[0]
    assert not group_alive(int((tmp_path / "pgid").read_text()))


def test_a_closed_output_command_still_times_out_cleanly(tmp_path: Path) -> None:
    out = run_command(ctx(tmp_path, max_timeout=0.5), "exec >/dev/null 2>&1; echo $$ > pgid; sleep 30", timeout=9)
    assert out.is_error and "timed out after 0.5 s" in out.text.splitlines()[0]
    assert not group_alive(int((tmp_path / "pgid").read_text()))


def test_a_cancelled_run_starts_no_command_and_lands_no_staged_edit(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    c = ToolContext(workspace=Workspace(tmp_path), cancel=cancel)
    c.workspace.stage("half.txt", b"staged\n")
    out = run_command(c, "touch ran")
    assert out.is_error and "cancelled by the user" in out.text
    assert not (tmp_path / "ran").exists()
    assert not (tmp_path / "half.txt").exists()  # the turn's cleanup drops it, never this tool
