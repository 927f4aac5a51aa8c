"""GitRepo state queries: changed_paths, ignored_paths, operation_in_progress."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from once.vcs import GitRepo
from once.vcs.status import StatusEntry, operation_from_markers, parse_status, trim_git_output
from tests.conftest import git

ODD = ["with space.py", "new\nline.py", "ünï.md", "-dash.py", "star*.py", ":colon.py"]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    opened = GitRepo.init(tmp_path / "work")
    for name in ("a.py", "b.py", "moved.py", "gone.py", "staged_gone.py", "clean.py", *ODD):
        (opened.root / name).write_text(f"{name}\n")
    (opened.root / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    opened.commit_paths(["."], "initial\n")
    return opened


# -- changed_paths ------------------------------------------------------------------------------


def test_changed_paths_names_every_kind_of_change(repo: GitRepo) -> None:
    root = repo.root
    (root / "a.py").write_text("modified\n")
    (root / "b.py").write_text("staged\n")
    git(root, "add", "b.py")
    (root / "gone.py").unlink()
    git(root, "rm", "-q", "staged_gone.py")
    git(root, "mv", "moved.py", "renamed.py")
    (root / "pkg" / "deep").mkdir(parents=True)
    (root / "pkg" / "deep" / "new.py").write_text("n\n")
    (root / "pkg" / "top.txt").write_text("t\n")
    (root / "debug.log").write_text("ignored\n")
    (root / "build").mkdir()
    (root / "build" / "out.o").write_text("ignored\n")
    for name in ODD:
        (root / name).write_text("changed\n")
    (root / "fresh\nname.txt").write_text("untracked\n")

    assert repo.changed_paths() == {
        "a.py", "b.py", "gone.py", "staged_gone.py", "moved.py", "renamed.py",
        "pkg/deep/new.py", "pkg/top.txt", "fresh\nname.txt", *ODD,
    }


def test_changed_paths_is_empty_when_clean(repo: GitRepo) -> None:
    assert repo.changed_paths() == set()


def test_changed_paths_on_an_unborn_branch(tmp_path: Path) -> None:
    fresh = GitRepo.init(tmp_path / "unborn")
    (fresh.root / "staged.py").write_text("s\n")
    git(fresh.root, "add", "staged.py")
    (fresh.root / "dir").mkdir()
    (fresh.root / "dir" / "untracked.py").write_text("u\n")
    assert fresh.changed_paths() == {"staged.py", "dir/untracked.py"}


def test_parse_status_gives_both_sides_of_a_rename() -> None:
    out = b"R  new.py\0old.py\0C  copy.py\0orig.py\0 M plain.py\0!! ignored.log\0"
    assert parse_status(out) == [
        StatusEntry("new.py", "R", " "),
        StatusEntry("old.py", "D", " "),
        StatusEntry("copy.py", "C", " "),
        StatusEntry("plain.py", " ", "M"),
        StatusEntry("ignored.log", "!", "!"),
    ]


# -- ignored_paths --------------------------------------------------------------------------------


def test_ignored_paths(repo: GitRepo) -> None:
    root = repo.root
    (root / "t.log").write_text("tracked despite the rule\n")
    git(root, "add", "-f", "t.log")
    (root / "build").mkdir()
    (root / "build" / "x.o").write_text("x\n")
    for name in ("*.log", ":odd.log", "-dash.log", "sp ace.log", "nl\n.log", "ü.log", "keep.log"):
        (root / name).write_text("u\n")
    asked = [
        "a.py", "t.log", "future.log", "build/x.o", "build", "keep.log", "missing/dir/x.log",
        "*.log", ":odd.log", "-dash.log", "sp ace.log", "nl\n.log", "ü.log", "star*.py", "future.log",
    ]
    assert repo.ignored_paths(asked) == [
        "future.log", "build/x.o", "build", "missing/dir/x.log",
        "*.log", ":odd.log", "-dash.log", "sp ace.log", "nl\n.log", "ü.log",
    ]


def test_ignored_paths_none_ignored_and_empty(repo: GitRepo) -> None:
    assert repo.ignored_paths(["a.py", "new.py", "keep.log"]) == []
    assert repo.ignored_paths([]) == []


def test_ignored_paths_past_a_symlink(repo: GitRepo) -> None:
    # git refuses to check a path beyond a symlink; the others are still answered.
    (repo.root / "real").mkdir()
    (repo.root / "link").symlink_to("real")
    assert repo.ignored_paths(["x.log", "link/y.log", "a.py", "z.log"]) == ["x.log", "z.log"]


# -- operation_in_progress ---------------------------------------------------------------------------


def conflict_setup(root: Path) -> str:
    """A side branch and main both change a.py; returns the side commit."""
    git(root, "checkout", "-q", "-b", "side")
    (root / "a.py").write_text("side\n")
    git(root, "commit", "-qam", "side")
    side = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "-")
    (root / "a.py").write_text("main\n")
    git(root, "commit", "-qam", "main")
    return side


def attempt(root: Path, *args: str) -> None:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True)
    assert done.returncode != 0  # stopped on the conflict


def test_operation_in_progress(repo: GitRepo) -> None:
    root = repo.root
    assert repo.operation_in_progress() is None
    side = conflict_setup(root)
    cases = [
        (["merge", "side"], "merge", ["merge", "--abort"]),
        (["cherry-pick", side], "cherry-pick", ["cherry-pick", "--abort"]),
        (["revert", "--no-edit", "HEAD"], None, []),  # no conflict: it just commits
        (["rebase", "side"], "rebase", ["rebase", "--abort"]),
    ]
    for start, expected, stop in cases:
        if expected is None:
            git(root, *start)
            continue
        attempt(root, *start)
        assert repo.operation_in_progress() == expected
        git(root, *stop)
        assert repo.operation_in_progress() is None
    git(root, "bisect", "start")
    assert repo.operation_in_progress() == "bisect"
    git(root, "bisect", "reset")
    assert repo.operation_in_progress() is None


def test_operation_in_progress_revert(repo: GitRepo) -> None:
    root = repo.root
    (root / "a.py").write_text("one\n")
    git(root, "commit", "-qam", "one")
    (root / "a.py").write_text("two\n")
    git(root, "commit", "-qam", "two")
    attempt(root, "revert", "--no-edit", "HEAD~1")
    assert repo.operation_in_progress() == "revert"


def test_operation_in_progress_is_per_worktree(repo: GitRepo, tmp_path: Path) -> None:
    side = conflict_setup(repo.root)
    linked = tmp_path / "linked"
    git(repo.root, "worktree", "add", "-q", "--detach", str(linked), "HEAD")
    attempt(linked, "cherry-pick", side)
    assert GitRepo.open(linked).operation_in_progress() == "cherry-pick"
    assert repo.operation_in_progress() is None


def test_operation_from_markers() -> None:
    assert operation_from_markers(set()) is None
    assert operation_from_markers({"rebase-apply"}) == "rebase"
    assert operation_from_markers({"rebase-apply"}, am_applying=True) == "am"
    assert operation_from_markers({"BISECT_LOG", "MERGE_HEAD"}) == "merge"
    assert operation_from_markers({"rebase-merge", "CHERRY_PICK_HEAD"}) == "rebase"


def test_trim_git_output() -> None:
    text = "hint: noise\nerror: one\n\nerror: two\nerror: three\nfatal: four\nhint: more\n"
    assert trim_git_output(text) == "error: two; error: three; fatal: four"
    assert trim_git_output("hint: only a hint\n") == "hint: only a hint"
    assert len(trim_git_output("x" * 1000)) == 400
