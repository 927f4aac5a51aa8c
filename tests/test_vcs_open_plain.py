"""Finding the repository without a git process in the plain layout, and with `git rev-parse` for anything else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from once.errors import NotARepoError
from once.vcs import GitRepo
from once.vcs.repo import _plain_work_tree
from tests.conftest import git


def test_a_plain_repository_is_found_from_a_subfolder_without_importing_gitpython(repo: Path) -> None:
    deep = repo / "a" / "b"
    deep.mkdir(parents=True)
    code = ("import sys; from pathlib import Path; from once.vcs import GitRepo; "
            f"print(GitRepo.open(Path({str(deep)!r})).root); print('git' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert Path(out[0]) == repo and out[1] == "False"


def test_other_layouts_are_left_to_git(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    assert _plain_work_tree(linked) is None  # `.git` is a file there
    assert GitRepo.open(linked).root == linked
    assert _plain_work_tree(repo / ".git") is None  # inside the git directory itself
    assert _plain_work_tree(repo / "missing") is None
    git(repo, "config", "core.worktree", str(repo))
    assert _plain_work_tree(repo) is None


def test_a_bare_repository_still_refuses(tmp_path: Path) -> None:
    bare = tmp_path / "b.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    assert _plain_work_tree(bare) is None
    with pytest.raises(NotARepoError):
        GitRepo.open(bare)


def test_a_git_location_in_the_environment_goes_to_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _plain_work_tree(repo) == repo
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))
    assert _plain_work_tree(repo) is None
