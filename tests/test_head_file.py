"""HEAD from its files answers what git answers, or leaves the question to git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from once.vcs import GitRepo
from once.vcs.head_file import read_head
from tests.conftest import git, init_repo, make_repo


def git_answers(repo: Path) -> tuple[str | None, str | None]:
    branch = subprocess.run(["git", "symbolic-ref", "-q", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    sha = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD^{commit}"], cwd=repo, capture_output=True,
                         text=True)
    return (branch.stdout.strip() or None), (sha.stdout.strip() or None)


def states(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Repositories in the states HEAD can be in, each with what git says of it."""
    unborn = init_repo(tmp_path / "unborn")
    yield "unborn", unborn
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    yield "on a branch", repo
    git(repo, "checkout", "-q", "-b", "feature/deep-name")
    yield "a branch with a slash", repo
    git(repo, "pack-refs", "--all")
    yield "packed", repo
    git(repo, "checkout", "-q", "--detach")
    yield "detached", repo
    git(repo, "checkout", "-q", "-b", "fresh")
    (repo / "b.py").write_text("B = 1\n")
    git(repo, "add", "b.py")
    git(repo, "commit", "-qm", "b")
    yield "a commit after packing", repo
    git(repo, "checkout", "-q", "--orphan", "orphan")
    yield "an orphan branch with packed refs", repo


def test_the_files_say_what_git_says_or_nothing(tmp_path: Path) -> None:
    for name, repo in states(tmp_path):
        expected = git_answers(repo)
        head = read_head(repo / ".git")
        assert head is not None, name
        assert head.branch == expected[0], name
        if head.sha_known:
            assert head.sha == expected[1], name
        opened = GitRepo.open(repo)
        assert (opened.branch(), opened.head_sha()) == expected, name


def test_an_unborn_branch_with_packed_refs_is_left_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    git(repo, "pack-refs", "--all")
    git(repo, "checkout", "-q", "--orphan", "new")
    head = read_head(repo / ".git")
    assert head is not None and head.branch == "new" and not head.sha_known


@pytest.mark.parametrize("text", [b"ref: refs/heads/../../../etc/passwd\n", b"ref: refs/tags/v1\n", b"garbage\n",
                                  b"\xff\xfe", b"0123\n"])
def test_an_unexpected_head_is_left_to_git(tmp_path: Path, text: bytes) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    (repo / ".git" / "HEAD").write_bytes(text)
    assert read_head(repo / ".git") is None


def test_reftable_and_linked_refs_are_left_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    loose = repo / ".git" / "refs" / "heads" / "main"
    sha = loose.read_text().strip()
    (repo / ".git" / "elsewhere").write_text(sha + "\n")
    loose.unlink()
    loose.symlink_to(repo / ".git" / "elsewhere")
    assert read_head(repo / ".git") is None
    (repo / ".git" / "reftable").mkdir()
    assert read_head(repo / ".git") is None
