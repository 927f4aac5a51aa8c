"""What the warm-process tests share: the CLI as a subprocess, a warm process started in a
folder of its own (stopped at the end however the test ended), repositories, and runs that wait."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import make_repo, write_cassette
from tests.test_cli_startup import two_file_cassette

TIMEOUT = 120


def agent(*args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None,
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "once", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, input=input, timeout=TIMEOUT, stdin=None if input is not None else subprocess.DEVNULL)


def status(cwd: Path, env: dict[str, str] | None = None) -> dict:
    return json.loads(agent("warm", "status", "--json", cwd=cwd, env=env).stdout)


@pytest.fixture
def warm_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A private folder for the socket (short: a socket's path must fit in ~100 bytes); the warm
    process started in it is stopped at the end, however the test ended."""
    folder = Path(tempfile.mkdtemp(prefix="ow-"))
    monkeypatch.setenv("ONCE_WARM_DIR", str(folder))
    monkeypatch.setenv("ONCE_WARM", "1")
    yield folder
    for env in (None, {**os.environ, "PYTHONPATH": str(tmp_path / "pkg")}):
        found = agent("warm", "status", "--json", cwd=tmp_path, env=env)
        if found.returncode == 0:
            os.kill(json.loads(found.stdout)["pid"], signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def started(warm_dir: Path, tmp_path: Path) -> dict:
    done = agent("warm", "start", "--idle", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warm process started" in done.stdout
    return status(tmp_path)


def two_repos(tmp_path: Path) -> tuple[Path, Path, Path]:
    files = {"a.py": "A = 1\n", "b.py": "B = 1\n"}
    first, second = make_repo(tmp_path / "one", files), make_repo(tmp_path / "two", files)
    cassette = tmp_path / "c.json"
    cassette.write_text(json.dumps(two_file_cassette(first)))
    return first, second, cassette


def without_ids(text: str) -> str:
    return "\n".join(" ".join(w for w in line.split() if not w.startswith(("r-", "1m"))) for line in text.splitlines()
                     if "commit" not in line)


def sleep_command(cassette: Path) -> str:
    """A command to wait in, told apart from every other test's (`pgrep -f` finds it)."""
    return f"sleep 47.{zlib.crc32(str(cassette).encode()) % 10**6:06d}"


def sleeping_cassette(path: Path) -> Path:
    usage = {"input_tokens": 10, "output_tokens": 5}
    return write_cassette(path, [
        {"id": "m0", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "tool_use",
         "stop_sequence": None, "usage": usage,
         "content": [{"type": "tool_use", "id": "t0", "name": "run_command", "input": {"command": sleep_command(path)}}]},
        {"id": "m1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
         "stop_sequence": None, "usage": usage, "content": [{"type": "text", "text": "done"}]},
    ])


def sleep_running(cassette: Path) -> bool:
    return subprocess.run(["pgrep", "-f", sleep_command(cassette)], capture_output=True).returncode == 0


def wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def start_sleeping_run(repo: Path, cassette: Path, database: Path, warm: str) -> subprocess.Popen[str]:
    """The run, as started from a terminal: Ctrl-Z not ignored (a script's background job may
    have these tests' own process ignore it)."""
    return subprocess.Popen([sys.executable, "-m", "once", "run", "--permission-mode", "full-auto", "--replay",
                             str(cassette), "--db", str(database), "wait"], cwd=repo, text=True,
                            env={**os.environ, "ONCE_WARM": warm, "ONCE_SANDBOX": "off"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGTSTP, signal.SIG_DFL))


def process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
