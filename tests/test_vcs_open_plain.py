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


ASKED = ("rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "BISECT_LOG", "once.lock",
         "index.lock")
"""The git-dir paths the agent asks for: an operation's markers, the run lock, the index lock."""


def git_says(where: Path, *names: str) -> list[Path]:
    from once.vcs.repo import git_env

    args = [arg for name in names for arg in ("--git-path", name)]
    out = subprocess.run(["git", "rev-parse", *args], cwd=where, env=git_env(root=where), capture_output=True,
                         text=True, check=True).stdout
    return [where / line for line in out.splitlines()]


def test_git_dir_paths_in_the_plain_layout_are_what_git_says_without_asking_it(repo: Path, monkeypatch) -> None:
    opened = GitRepo.open(repo)
    monkeypatch.setenv("PATH", "")  # no git to ask
    assert opened.git_paths(*ASKED) == [repo / ".git" / name for name in ASKED]
    monkeypatch.undo()
    assert opened.git_paths(*ASKED) == git_says(repo, *ASKED)
    # The hooks path is one git moves (the agent's git overrides core.hooksPath): git is asked.
    assert opened.git_paths("hooks") == git_says(repo, "hooks") != [repo / ".git" / "hooks"]


def test_a_linked_worktree_asks_git_once_for_its_git_dir_paths(repo: Path, tmp_path: Path, monkeypatch) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked))
    opened = GitRepo.open(linked)
    expected = git_says(linked, *ASKED)
    assert opened.git_paths(*ASKED) == expected and expected[0] != linked / ".git" / "rebase-merge"
    monkeypatch.setenv("PATH", "")  # asked once: kept
    assert opened.git_paths("once.lock", "MERGE_HEAD") == [expected[6], expected[2]]
