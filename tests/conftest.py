"""Shared fixtures: an isolated environment, temp git repos, cassettes, the CLI in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "user@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "user@example.com",
}

# A run started in the background of a script inherits SIGINT ignored, and so would every agent
# these tests start: the Ctrl-C tests would then test nothing. Children of a process with a
# handler get the default back (and Python installs KeyboardInterrupt in them).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's config, database, git identity or API keys."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # git reads only the repo's own config
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "ONCE_DB",
                 "ONCE_PROVIDER", "ONCE_MODEL", "ONCE_BASE_URL", "ONCE_MAX_TURNS", "ONCE_RAISE_ERRORS", "ONCE_SANDBOX",
                 "ONCE_SANDBOX_NETWORK", "ONCE_COMMAND_ENV", "ONCE_TEAM_URL", "ONCE_TEAM_REPOS", "ONCE_TEAM_MEMBER",
                 "EMAIL", "GIT_DIR", "GIT_WORK_TREE", "ONCE_WARM_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONCE_WARM", "0")  # a developer's warm process does not run the tests' runs
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return home


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def init_repo(path: Path) -> Path:
    """An empty git repository (no commits) on branch main."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def make_repo(path: Path, files: dict[str, str]) -> Path:
    init_repo(path)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


SAMPLE_FILES = {
    "cli.py": 'import argparse\n\n\ndef main():\n    parser = argparse.ArgumentParser()\n    parser.parse_args()\n',
    "util.py": "def helper():\n    return 1\n",
    "README.md": "# sample\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", SAMPLE_FILES)


def write_cassette(path: Path, responses: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"version": 1, "responses": responses}))
    return path


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `agent ARGS...` in-process in `cwd`, from the entry point; returns exit code, stdout, stderr."""
    from once.cli.launch import main

    def invoke(*args: str, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return invoke


def run_agent_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None,
                         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "once", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL for the whole test run (started on first use, private port and data
    directory, stopped at the end); skips, saying why, where it cannot run."""
    from tests import pg_server as pg

    reason = pg.why_not()
    if reason is not None:
        pytest.skip(reason)
    started = pg.start_server()
    yield started
    pg.remove(started)


_team_databases = iter(range(1_000_000))


@pytest.fixture
def team_url(pg_server):
    """A fresh database on the test server, dropped afterwards: one team per test."""
    from once.team.server import connect

    name = f"team_{next(_team_databases)}"
    for statement in (f"CREATE DATABASE {name}", None, f"DROP DATABASE {name} WITH (FORCE)"):
        if statement is None:
            yield pg_server.database_url(name)
            continue
        admin = connect(pg_server.url)  # a fresh connection: a test may have restarted the server
        admin.execute(statement)
        admin.close()
