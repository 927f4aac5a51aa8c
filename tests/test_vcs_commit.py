"""GitRepo: discovery, dirty paths, path-exact commits and saving the user's changes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from once.errors import NotARepoError, VcsError
from once.vcs import GitRepo, format_commit_message, is_agent_commit, parse_trailers
from tests.conftest import GIT_ENV, git


def remove_git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """No identity anywhere: none in the env, and git looks for a global config in the
    test's empty HOME (conftest's isolated_env already drops system config and EMAIL)."""
    for name in ("GIT_CONFIG_GLOBAL", *GIT_ENV):
        monkeypatch.delenv(name, raising=False)


def committed_files(root: Path, rev: str = "HEAD") -> list[str]:
    out = git(root, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", rev)
    return sorted(name for name in out.split("\0") if name)


def status(root: Path) -> list[str]:
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    return sorted(entry for entry in out.split("\0") if entry)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = tmp_path / "work"
    opened = GitRepo.init(root)
    (root / "base.py").write_text("base\n")
    opened.commit_paths(["base.py"], "base\n")
    return opened


def message(files: list[str]) -> str:
    return format_commit_message("change things", files, "r-test", "test-model")


# -- discovery ------------------------------------------------------------------------


def test_open_finds_root_from_subdirectory(repo: GitRepo) -> None:
    sub = repo.root / "deep" / "er"
    sub.mkdir(parents=True)
    assert GitRepo.open(sub).root.resolve() == repo.root.resolve()


def test_open_outside_a_repo_raises(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(NotARepoError) as caught:
        GitRepo.open(outside)
    assert caught.value.message == f"not inside a git repository: {outside}"
    assert "git init" in (caught.value.hint or "")


def test_open_bare_repo_raises(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    with pytest.raises(NotARepoError, match="bare"):
        GitRepo.open(bare)


def test_branch_and_head(tmp_path: Path) -> None:
    fresh = GitRepo.init(tmp_path / "fresh")
    assert fresh.head_sha() is None
    assert fresh.branch() is not None
    (fresh.root / "a.txt").write_text("a\n")
    sha = fresh.commit_paths(["a.txt"], "first\n")
    assert fresh.head_sha() == sha
    git(fresh.root, "checkout", "-q", "--detach")
    assert fresh.branch() is None


# -- commit_paths -----------------------------------------------------------------------


def test_two_files_make_one_commit(repo: GitRepo) -> None:
    before = repo.head_sha()
    (repo.root / "base.py").write_text("changed\n")
    (repo.root / "new.py").write_text("new\n")
    sha = repo.commit_paths(["base.py", "new.py"], message(["base.py", "new.py"]))
    assert git(repo.root, "rev-parse", "HEAD~1").strip() == before
    assert committed_files(repo.root, sha) == ["base.py", "new.py"]
    assert status(repo.root) == []


def test_user_staged_file_stays_staged_and_out(repo: GitRepo) -> None:
    (repo.root / "staged.py").write_text("user staged\n")
    git(repo.root, "add", "staged.py")
    (repo.root / "base.py").write_text("agent\n")
    sha = repo.commit_paths(["base.py"], message(["base.py"]))
    assert committed_files(repo.root, sha) == ["base.py"]
    assert status(repo.root) == ["A  staged.py"]


def test_user_modified_file_stays_modified_and_out(repo: GitRepo) -> None:
    (repo.root / "mine.py").write_text("v1\n")
    repo.commit_paths(["mine.py"], "mine\n")
    (repo.root / "mine.py").write_text("user edit\n")
    (repo.root / "agent.py").write_text("agent\n")
    sha = repo.commit_paths(["agent.py"], message(["agent.py"]))
    assert committed_files(repo.root, sha) == ["agent.py"]
    assert status(repo.root) == [" M mine.py"]
    assert (repo.root / "mine.py").read_text() == "user edit\n"


def test_first_commit_on_unborn_branch(tmp_path: Path) -> None:
    fresh = GitRepo.init(tmp_path / "unborn")
    (fresh.root / "one.py").write_text("1\n")
    (fresh.root / "two.py").write_text("2\n")
    (fresh.root / "user.py").write_text("not mine\n")
    sha = fresh.commit_paths(["one.py", "two.py"], message(["one.py", "two.py"]))
    assert committed_files(fresh.root, sha) == ["one.py", "two.py"]
    assert status(fresh.root) == ["?? user.py"]


def test_new_file_in_new_directory_and_deletion(repo: GitRepo) -> None:
    (repo.root / "pkg" / "sub").mkdir(parents=True)
    (repo.root / "pkg" / "sub" / "mod.py").write_text("x = 1\n")
    (repo.root / "base.py").unlink()
    sha = repo.commit_paths(["pkg/sub/mod.py", "base.py"], message(["pkg/sub/mod.py", "base.py"]))
    assert committed_files(repo.root, sha) == ["base.py", "pkg/sub/mod.py"]
    assert git(repo.root, "ls-tree", "-r", "--name-only", "HEAD").split() == ["pkg/sub/mod.py"]
    assert status(repo.root) == []


def test_odd_names_are_literal(repo: GitRepo) -> None:
    names = ["with space.py", "non\u00a0breaking.txt", "ünïcödé.md", "-dash.py", "star*.py", "[brackets].txt"]
    for name in names:
        (repo.root / name).write_text(f"{name}\n")
    # Decoys a glob would match: `star*.py` and `[brackets].txt` must not pull them in.
    (repo.root / "star-decoy.py").write_text("no\n")
    (repo.root / "b").write_text("no\n")
    sha = repo.commit_paths(names, message(names))
    assert committed_files(repo.root, sha) == sorted(names)
    assert status(repo.root) == ["?? b", "?? star-decoy.py"]


def test_ignored_new_file_is_left_out(repo: GitRepo) -> None:
    (repo.root / ".gitignore").write_text("*.log\n")
    repo.commit_paths([".gitignore"], "ignore logs\n")
    (repo.root / "debug.log").write_text("noise\n")
    (repo.root / "base.py").write_text("agent\n")
    assert repo.committable_paths(["base.py", "debug.log"]) == ["base.py"]
    sha = repo.commit_paths(["base.py", "debug.log"], message(["base.py", "debug.log"]))
    assert committed_files(repo.root, sha) == ["base.py"]


def test_nothing_to_commit_raises_vcs_error(repo: GitRepo) -> None:
    with pytest.raises(VcsError, match="nothing to commit"):
        repo.commit_paths(["base.py"], message(["base.py"]))


def test_message_round_trip(repo: GitRepo) -> None:
    (repo.root / "base.py").write_text("agent\n")
    text = message(["base.py"])
    sha = repo.commit_paths(["base.py"], text)
    stored = git(repo.root, "log", "-1", "--format=%B", sha)
    assert stored.strip() == text.strip()
    assert repo.commit_message(sha).strip() == text.strip()
    assert parse_trailers(stored) == {"Agent-Run": "r-test", "Agent-Model": "test-model"}
    assert is_agent_commit(stored)


def test_hook_does_not_block_the_agent_commit(repo: GitRepo) -> None:
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    (repo.root / "base.py").write_text("agent\n")
    assert committed_files(repo.root, repo.commit_paths(["base.py"], message(["base.py"]))) == ["base.py"]


def test_fallback_identity_without_any_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remove_git_identity(monkeypatch)
    fresh = GitRepo.init(tmp_path / "anon")
    (fresh.root / "a.py").write_text("a\n")
    sha = fresh.commit_paths(["a.py"], message(["a.py"]))
    ident = git(fresh.root, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha).strip()
    assert ident == "once agent <agent@once.invalid>|once agent <agent@once.invalid>"
    assert git(fresh.root, "config", "--list", "--show-scope").count("user.") == 0


def test_configured_identity_wins_over_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remove_git_identity(monkeypatch)
    fresh = GitRepo.init(tmp_path / "named")
    git(fresh.root, "config", "user.name", "Ada")
    git(fresh.root, "config", "user.email", "ada@example.test")
    (fresh.root / "a.py").write_text("a\n")
    sha = fresh.commit_paths(["a.py"], message(["a.py"]))
    assert git(fresh.root, "log", "-1", "--format=%an <%ae>", sha).strip() == "Ada <ada@example.test>"


def test_small_commit_is_quick(repo: GitRepo) -> None:
    # Measured for the record only; timing is not asserted (machines vary).
    (repo.root / "a.py").write_text("a\n")
    (repo.root / "b.py").write_text("b\n")
    started = time.perf_counter()
    sha = repo.commit_paths(["a.py", "b.py"], message(["a.py", "b.py"]))
    elapsed = time.perf_counter() - started
    assert committed_files(repo.root, sha) == ["a.py", "b.py"]
    assert elapsed >= 0


# -- dirty_paths and save_user_changes --------------------------------------------------------


def test_dirty_paths(repo: GitRepo) -> None:
    (repo.root / ".gitignore").write_text("*.log\n")
    (repo.root / "clean.py").write_text("c\n")
    repo.commit_paths([".gitignore", "clean.py"], "setup\n")
    (repo.root / "base.py").write_text("modified\n")
    (repo.root / "untracked.py").write_text("u\n")
    (repo.root / "staged.py").write_text("s\n")
    git(repo.root, "add", "staged.py")
    (repo.root / "ignored.log").write_text("i\n")
    asked = ["clean.py", "base.py", "untracked.py", "staged.py", "ignored.log", "missing.py"]
    assert repo.dirty_paths(asked) == ["base.py", "untracked.py", "staged.py"]


def test_save_user_changes_commits_dirty_files_alone(repo: GitRepo) -> None:
    (repo.root / "base.py").write_text("user work\n")
    (repo.root / "other.py").write_text("unrelated user file\n")
    (repo.root / "clean.py").write_text("c\n")
    repo.commit_paths(["clean.py"], "clean\n")
    sha = repo.save_user_changes(["base.py", "clean.py"], "r-42")
    assert sha is not None
    assert committed_files(repo.root, sha) == ["base.py"]
    stored = git(repo.root, "log", "-1", "--format=%B", sha)
    assert stored.startswith("wip: uncommitted changes before agent edit\n\n")
    assert "- base.py" in stored
    assert parse_trailers(stored) == {"Agent-Run": "r-42", "Agent-Wip": "true"}
    assert not is_agent_commit(stored)
    assert status(repo.root) == ["?? other.py"]


def test_save_user_changes_when_clean_returns_none(repo: GitRepo) -> None:
    head = repo.head_sha()
    assert repo.save_user_changes(["base.py", "missing.py"], "r-42") is None
    assert repo.head_sha() == head


# -- signing and failed commits -------------------------------------------------------------


def break_signing(root: Path) -> None:
    git(root, "config", "commit.gpgsign", "true")
    git(root, "config", "gpg.program", "false")


def test_agent_commits_do_not_sign(repo: GitRepo) -> None:
    break_signing(repo.root)
    (repo.root / "user.txt").write_text("user\n")
    # The config is in force: the user's own commit fails to sign.
    git(repo.root, "add", "user.txt")
    signed = subprocess.run(["git", "commit", "-q", "-m", "mine"], cwd=repo.root, capture_output=True)
    assert signed.returncode != 0
    git(repo.root, "reset", "-q")
    (repo.root / "base.py").write_text("user work\n")
    wip = repo.save_user_changes(["base.py"], "r-sign")
    (repo.root / "base.py").write_text("agent\n")
    sha = repo.commit_paths(["base.py"], message(["base.py"]))
    assert wip is not None and git(repo.root, "rev-parse", "HEAD~1").strip() == wip
    assert committed_files(repo.root, sha) == ["base.py"]
    assert status(repo.root) == ["?? user.txt"]


def failing_commit(root: Path) -> None:
    """The commit cannot move the branch: its ref is locked (the agent's git runs no hook, so a
    failing hook no longer makes a commit fail)."""
    branch = git(root, "symbolic-ref", "--short", "HEAD").strip()
    lock = root / ".git" / "refs" / "heads" / f"{branch}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")


def index_and_status(root: Path) -> tuple[str, list[str]]:
    return git(root, "ls-files", "-s"), status(root)


def test_failed_commit_leaves_the_index_as_it_was(repo: GitRepo) -> None:
    (repo.root / "gone.py").write_text("g\n")
    (repo.root / "keep.py").write_text("k\n")
    repo.commit_paths(["gone.py", "keep.py"], "more\n")
    head = repo.head_sha()
    (repo.root / "base.py").write_text("user staged\n")
    git(repo.root, "add", "base.py")
    (repo.root / "base.py").write_text("agent edit\n")
    (repo.root / "new.py").write_text("new\n")
    (repo.root / "gone.py").unlink()
    (repo.root / "keep.py").write_text("user staged keep\n")
    git(repo.root, "add", "keep.py")
    before = index_and_status(repo.root)
    failing_commit(repo.root)

    with pytest.raises(VcsError) as caught:
        repo.commit_paths(["base.py", "new.py", "gone.py"], message(["base.py", "new.py", "gone.py"]))

    assert caught.value.message.startswith("could not commit base.py, gone.py, new.py: git commit failed:")
    assert "remove the file manually" in caught.value.message  # git's own words about the lock, trimmed
    assert "index is as it was" in (caught.value.hint or "")
    assert repo.head_sha() == head
    assert index_and_status(repo.root) == before
    assert (repo.root / "base.py").read_text() == "agent edit\n"


def test_failed_first_commit_on_unborn_branch_unstages_only_its_paths(tmp_path: Path) -> None:
    fresh = GitRepo.init(tmp_path / "unborn")
    (fresh.root / "user.py").write_text("user staged\n")
    git(fresh.root, "add", "user.py")
    (fresh.root / "agent.py").write_text("agent\n")
    before = index_and_status(fresh.root)
    failing_commit(fresh.root)
    with pytest.raises(VcsError, match="could not commit agent.py"):
        fresh.commit_paths(["agent.py"], message(["agent.py"]))
    assert fresh.head_sha() is None
    assert index_and_status(fresh.root) == before
    assert status(fresh.root) == ["?? agent.py", "A  user.py"]
