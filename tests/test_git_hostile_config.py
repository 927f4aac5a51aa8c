"""The agent's own git ignores a hostile repository config: a model that obeys a prompt injection
can write .git/config, and git would run its fsmonitor (even for `status`, in plan mode), its
hooks (post-commit, reference-transaction... despite --no-verify) and its filters on `git add`.
Real git, real repositories; every planted program would leave a marker file if it ran."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from once.tools.listing import repo_files
from once.vcs import GitRepo
from once.vcs.repo import git_env
from tests.conftest import git, make_repo

HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "reference-transaction",
         "post-index-change", "pre-auto-gc")


def _script(path: Path, marker: Path) -> None:
    path.write_text(f"#!/bin/sh\necho ran >> '{marker}'\ncat\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "repo", {"notes.txt": "one\n", "app.py": "x = 1\n"})
    trap = tmp_path / "trap"
    trap.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in HOOKS:
        _script(trap / name, markers / f"hook-{name}")
    _script(trap / "fsmonitor", markers / "fsmonitor")
    _script(trap / "filter", markers / "filter")
    _script(trap / "textconv", markers / "textconv")
    git(repo, "config", "core.hooksPath", str(trap))
    git(repo, "config", "core.fsmonitor", str(trap / "fsmonitor"))
    git(repo, "config", "filter.evil.clean", str(trap / "filter"))
    git(repo, "config", "filter.evil.smudge", str(trap / "filter"))
    git(repo, "config", "filter.evil.required", "true")
    git(repo, "config", "diff.evil.textconv", str(trap / "textconv"))
    (repo / ".gitattributes").write_text("*.txt filter=evil diff=evil\n*.py diff=evil\n")
    return repo, markers


def test_the_agents_git_runs_no_program_the_repository_config_names(hostile) -> None:
    repo, markers = hostile
    opened = GitRepo.open(repo)
    (repo / "notes.txt").write_text("two\n")
    (repo / "app.py").write_text("x = 2\n")
    opened.run("status", "--porcelain")
    repo_files(repo)
    opened.run("add", "--", "notes.txt", "app.py", ".gitattributes")
    opened.run(*opened.commit_options(), "commit", "--no-verify", "-q", "-m", "agent: edit")
    opened.run("diff", "HEAD~1", "HEAD")
    opened.run("show", "HEAD")
    assert sorted(p.name for p in markers.iterdir()) == []
    # The commit landed, with the file's real content (no filter rewrote it).
    assert git(repo, "show", "HEAD:notes.txt") == "two\n"


def test_the_same_git_runs_them_without_the_overrides(hostile) -> None:
    """The traps are real: plain git with this config runs them (so the test above can fail)."""
    repo, markers = hostile
    (repo / "notes.txt").write_text("three\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")}
    import subprocess

    subprocess.run(["git", "add", "notes.txt"], cwd=repo, env=env, check=False, capture_output=True)
    subprocess.run(["git", "commit", "--no-verify", "-q", "-m", "user"], cwd=repo, env=env, check=False,
                   capture_output=True)
    ran = {p.name for p in markers.iterdir()}
    assert {"filter", "hook-post-commit"} <= ran


def test_overrides_follow_the_callers_own_config_entries(tmp_path: Path) -> None:
    env = git_env({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "me"})
    # The caller's extra environment is applied last, so its count wins here; without it ours append.
    assert env["GIT_CONFIG_KEY_0"] == "user.name"
    os.environ["GIT_CONFIG_COUNT"] = "1"
    os.environ["GIT_CONFIG_KEY_0"], os.environ["GIT_CONFIG_VALUE_0"] = "user.name", "me"
    try:
        env = git_env()
        keys = [env[f"GIT_CONFIG_KEY_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))]
        assert keys[0] == "user.name" and "core.hooksPath" in keys and "core.fsmonitor" in keys
    finally:
        for name in ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"):
            os.environ.pop(name, None)


def test_agent_scan_runs_no_program_the_repository_config_names(hostile, cli) -> None:
    """`agent scan --staged` runs in a pre-commit hook, in whatever repository it is given."""
    repo, markers = hostile
    (repo / "notes.txt").write_text("staged\n")
    git(repo, "-c", "core.fsmonitor=false", "-c", "filter.evil.clean=cat", "-c", f"core.hooksPath={os.devnull}",
        "add", "notes.txt")
    cli("scan", "--staged", cwd=repo)
    cli("scan", cwd=repo)
    assert sorted(p.name for p in markers.iterdir()) == []
