"""A fresh copy of a task's starting repository for each run, and the hidden files for its check.

Every copy's folder has the same neutral name: the system prompt (which names the repository)
is then the same in every run, so a replay can be compared with its recording, a local
server reuses its cached prompt prefix from one task to the next, and no task name hints
at the answer ("fix-mean").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from once.errors import UsageError
from once.evals.task import Task

REPO_NAME = "project"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "once eval", "GIT_AUTHOR_EMAIL": "eval@once.invalid",
    "GIT_COMMITTER_NAME": "once eval", "GIT_COMMITTER_EMAIL": "eval@once.invalid",
    # Fixed dates give the starting commit the same hash in every run.
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
# The harness's own git calls read no user or system config and run no hooks.
_GIT_CONFIG = ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(args: list[str], cwd: Path) -> str:
    from once.vcs.safe_env import git_env  # a task's own .git/config runs nothing (fsmonitor, filters, hooks)

    env = git_env({**GIT_IDENTITY, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                   "GIT_TERMINAL_PROMPT": "0"}, root=cwd if (cwd / ".git").exists() else None)
    done = subprocess.run(["git", *_GIT_CONFIG, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def prepare_repo(task: Task, base: Path | None = None) -> Path:
    """A new folder `<tmp>/project` holding the task's starting repository, committed."""
    parent = Path(tempfile.mkdtemp(prefix="once-eval-", dir=base))
    repo = parent / REPO_NAME
    if task.bundle is not None:
        git(["clone", "--quiet", str(task.bundle), str(repo)], parent)
        if task.rev:
            git(["checkout", "--quiet", "-B", "main", task.rev], repo)
        git(["remote", "remove", "origin"], repo)
        return repo
    assert task.repo_dir is not None
    shutil.copytree(task.repo_dir, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    if not (repo / ".git").exists():
        git(["init", "--quiet"], repo)
        git(["add", "-A"], repo)
        git(["commit", "--quiet", "--allow-empty", "-m", f"start of task {task.name}"], repo)
    return repo


def overlay_hidden(task: Task, repo: Path) -> list[str]:
    """Copy the hidden files over the repository (after the agent is done); the paths copied."""
    if task.hidden is None:
        return []
    copied = []
    for source in sorted(task.hidden.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = source.relative_to(task.hidden)
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(relative.as_posix())
    return copied


def remove_repo(repo: Path) -> None:
    shutil.rmtree(repo.parent, ignore_errors=True)


def head_tree(repo: Path) -> str:
    """The tree hash of HEAD: two runs that committed the same files have the same one."""
    return git(["rev-parse", "HEAD^{tree}"], repo).strip()


def changed_files(repo: Path) -> list[str]:
    """Files that differ from the starting commit, committed or not."""
    start = git(["rev-list", "--max-parents=0", "HEAD"], repo).split()[0]
    committed = git(["diff", "--name-only", "-z", start, "HEAD"], repo).split("\0")
    loose = git(["status", "--porcelain", "-z", "--untracked-files=all"], repo).split("\0")
    return sorted({p for p in committed if p} | {p[3:] for p in loose if len(p) > 3 and not p[3:].startswith(".once/")})
