"""undo_last and undo_run: reset local agent commits, revert published ones, keep user work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from once.errors import UndoRefusedError
from once.vcs import GitRepo, format_commit_message, parse_trailers, undo_last, undo_run
from tests.conftest import git


def status(root: Path) -> list[str]:
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    return sorted(entry for entry in out.split("\0") if entry)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    opened = GitRepo.init(tmp_path / "work")
    (opened.root / "app.py").write_text("print('v1')\n")
    (opened.root / "notes.md").write_text("notes\n")
    opened.commit_paths(["app.py", "notes.md"], "user: initial\n")
    return opened


def agent_edit(repo: GitRepo, files: dict[str, str], run_id: str = "r-1") -> str:
    """What the agent loop does in one turn: save user changes, write, commit."""
    repo.save_user_changes(list(files), run_id)
    for name, content in files.items():
        path = repo.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return repo.commit_paths(list(files), format_commit_message("edit", list(files), run_id, "m"))


def user_commit(repo: GitRepo, name: str, content: str) -> str:
    (repo.root / name).write_text(content)
    return repo.commit_paths([name], f"user: change {name}\n")


# -- undo_last ------------------------------------------------------------------------


def test_undo_last_restores_modified_and_created_files(repo: GitRepo) -> None:
    before = repo.head_sha()
    sha = agent_edit(repo, {"app.py": "print('v2')\n", "lib/new.py": "x = 1\n"})
    result = undo_last(repo)
    assert result.method == "reset"
    assert result.shas == [sha]
    assert result.files == ["app.py", "lib/new.py"]
    assert repo.head_sha() == before
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
    assert not (repo.root / "lib" / "new.py").exists()
    assert status(repo.root) == []


def test_undo_last_keeps_other_user_changes(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"})
    (repo.root / "notes.md").write_text("user edit\n")
    (repo.root / "staged.txt").write_text("staged\n")
    git(repo.root, "add", "staged.txt")
    undo_last(repo)
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
    assert status(repo.root) == [" M notes.md", "A  staged.txt"]


def test_undo_last_refuses_a_user_commit(repo: GitRepo) -> None:
    sha = user_commit(repo, "notes.md", "mine\n")
    with pytest.raises(UndoRefusedError) as caught:
        undo_last(repo)
    assert sha[:7] in caught.value.message
    assert "user: change notes.md" in caught.value.message
    assert "only the agent's last commit can be undone" in caught.value.message
    assert repo.head_sha() == sha


def test_undo_last_refuses_when_file_changed_since(repo: GitRepo) -> None:
    sha = agent_edit(repo, {"app.py": "print('v2')\n"})
    (repo.root / "app.py").write_text("print('v2 plus user')\n")
    with pytest.raises(UndoRefusedError, match="app.py changed since the agent's commit"):
        undo_last(repo)
    assert repo.head_sha() == sha
    assert (repo.root / "app.py").read_text() == "print('v2 plus user')\n"


def test_undo_last_of_a_root_commit_leaves_an_unborn_branch(tmp_path: Path) -> None:
    fresh = GitRepo.init(tmp_path / "fresh")
    (fresh.root / "user.txt").write_text("untracked user file\n")
    agent_edit(fresh, {"a.py": "a\n"})
    result = undo_last(fresh)
    assert result.method == "reset"
    assert fresh.head_sha() is None
    assert not (fresh.root / "a.py").exists()
    assert status(fresh.root) == ["?? user.txt"]


def test_undo_last_reverts_when_pushed(repo: GitRepo, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    branch = repo.branch()
    assert branch is not None
    git(repo.root, "remote", "add", "origin", str(origin))
    sha = agent_edit(repo, {"app.py": "print('v2')\n", "new.py": "n\n"}, run_id="r-pushed")
    git(repo.root, "push", "-q", "-u", "origin", branch)
    (repo.root / "staged.txt").write_text("staged\n")
    git(repo.root, "add", "staged.txt")

    result = undo_last(repo)

    assert result.method == "revert"
    assert result.shas == [sha]
    assert len(result.revert_shas) == 1
    head = repo.head_sha()
    assert head == result.revert_shas[0]
    assert git(repo.root, "rev-parse", "HEAD~1").strip() == sha  # history kept
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
    assert not (repo.root / "new.py").exists()
    stored = git(repo.root, "log", "-1", "--format=%B")
    assert stored.startswith('Revert "agent: edit"')
    assert parse_trailers(stored)["Agent-Reverted-Run"] == "r-pushed"
    assert git(repo.root, "show", "--name-only", "--format=", "HEAD").split() == ["app.py", "new.py"]
    assert status(repo.root) == ["A  staged.txt"]


# -- undo_run ---------------------------------------------------------------------------


def test_undo_run_removes_agent_commits_and_restores_wip(repo: GitRepo) -> None:
    before = repo.head_sha()
    (repo.root / "notes.md").write_text("user's unsaved notes\n")
    first = agent_edit(repo, {"notes.md": "agent notes\n", "app.py": "print('v2')\n"}, "r-run")
    (repo.root / "draft.py").write_text("user draft\n")
    second = agent_edit(repo, {"draft.py": "agent draft\n", "app.py": "print('v3')\n"}, "r-run")
    assert git(repo.root, "rev-list", "--count", f"{before}..HEAD").strip() == "4"

    result = undo_run(repo, "r-run")

    assert result.method == "reset"
    assert len(result.shas) == 4 and result.shas[0] == second and first in result.shas
    assert repo.head_sha() == before
    assert result.restored_user_changes == ["draft.py", "notes.md"]
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
    assert (repo.root / "notes.md").read_text() == "user's unsaved notes\n"
    assert (repo.root / "draft.py").read_text() == "user draft\n"
    assert status(repo.root) == [" M notes.md", "?? draft.py"]


def test_undo_run_refuses_when_a_foreign_commit_is_on_top(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-run")
    foreign = user_commit(repo, "notes.md", "later user work\n")
    with pytest.raises(UndoRefusedError) as caught:
        undo_run(repo, "r-run")
    assert foreign[:7] in caught.value.message
    assert "not at the top" in caught.value.message
    assert repo.head_sha() == foreign


def test_undo_run_refuses_an_interleaved_run(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-old")
    other = agent_edit(repo, {"notes.md": "other run\n"}, "r-new")
    agent_edit(repo, {"app.py": "print('v3')\n"}, "r-old")
    with pytest.raises(UndoRefusedError, match=other[:7]):
        undo_run(repo, "r-old")


def test_undo_run_none_picks_the_latest_run(repo: GitRepo) -> None:
    old = agent_edit(repo, {"app.py": "print('v2')\n"}, "r-old")
    agent_edit(repo, {"notes.md": "new 1\n"}, "r-new")
    agent_edit(repo, {"notes.md": "new 2\n", "extra.py": "e\n"}, "r-new")
    result = undo_run(repo, None)
    assert len(result.shas) == 2
    assert repo.head_sha() == old
    assert (repo.root / "notes.md").read_text() == "notes\n"
    assert (repo.root / "app.py").read_text() == "print('v2')\n"
    assert not (repo.root / "extra.py").exists()


def test_undo_run_refuses_dirty_file(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-run")
    agent_edit(repo, {"lib.py": "l\n"}, "r-run")
    (repo.root / "app.py").write_text("user\n")
    with pytest.raises(UndoRefusedError, match="app.py changed since"):
        undo_run(repo, "r-run")


def test_undo_run_without_agent_commits_refuses(repo: GitRepo) -> None:
    with pytest.raises(UndoRefusedError, match="no agent commit"):
        undo_run(repo, None)
    with pytest.raises(UndoRefusedError, match="no commit of run r-none"):
        undo_run(repo, "r-none")


def test_undo_run_reverts_pushed_run_and_keeps_wip(repo: GitRepo, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(repo.root, "remote", "add", "origin", str(origin))
    # User settings that would garble a porcelain diff must not matter.
    git(repo.root, "config", "color.ui", "always")
    git(repo.root, "config", "diff.noprefix", "true")
    (repo.root / "notes.md").write_text("user notes\n")
    agent_edit(repo, {"notes.md": "user notes\nagent line\n"}, "r-pub")
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-pub")
    git(repo.root, "push", "-q", "origin", "HEAD:refs/heads/published")
    git(repo.root, "fetch", "-q", "origin")

    result = undo_run(repo, "r-pub")

    assert result.method == "revert"
    assert len(result.shas) == 2 and len(result.revert_shas) == 2
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
    assert (repo.root / "notes.md").read_text() == "user notes\n"  # the wip commit stays
    assert status(repo.root) == []


def test_undo_run_restores_a_file_the_user_had_deleted(repo: GitRepo) -> None:
    before = repo.head_sha()
    (repo.root / "notes.md").unlink()
    agent_edit(repo, {"notes.md": "agent recreated\n"}, "r-del")
    result = undo_run(repo, "r-del")
    assert repo.head_sha() == before
    assert result.restored_user_changes == ["notes.md"]
    assert not (repo.root / "notes.md").exists()
    assert status(repo.root) == [" D notes.md"]


def test_undo_run_revert_refuses_when_the_user_changed_the_same_lines(
    repo: GitRepo, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(repo.root, "remote", "add", "origin", str(origin))
    agent_edit(repo, {"app.py": "print('agent')\n"}, "r-clash")
    (repo.root / "app.py").write_text("print('user on top of agent')\n")
    head = agent_edit(repo, {"app.py": "print('agent again')\n"}, "r-clash")
    git(repo.root, "push", "-q", "origin", "HEAD:refs/heads/main")
    git(repo.root, "fetch", "-q", "origin")
    with pytest.raises(UndoRefusedError, match="cannot revert .* cleanly"):
        undo_run(repo, "r-clash")
    assert repo.head_sha() == head
    assert (repo.root / "app.py").read_text() == "print('agent again')\n"
    assert status(repo.root) == []


# -- wip commits under the agent's commit ----------------------------------------------------


def test_undo_last_also_unwinds_the_wip_beneath_and_restores_user_changes(repo: GitRepo) -> None:
    before = repo.head_sha()
    (repo.root / "notes.md").write_text("user's unsaved notes\n")
    sha = agent_edit(repo, {"notes.md": "agent notes\n"}, "r-w")
    wip = git(repo.root, "rev-parse", "HEAD~1").strip()
    assert wip != before

    result = undo_last(repo)

    assert result.method == "reset"
    assert result.shas == [sha, wip]
    assert result.restored_user_changes == ["notes.md"]
    assert repo.head_sha() == before
    assert (repo.root / "notes.md").read_text() == "user's unsaved notes\n"
    assert status(repo.root) == [" M notes.md"]
    # Nothing of the run is left for a second undo to trip over.
    with pytest.raises(UndoRefusedError, match="no agent commit"):
        undo_run(repo, None)


def test_undo_last_leaves_the_wips_of_earlier_turns(repo: GitRepo) -> None:
    (repo.root / "notes.md").write_text("user notes\n")
    first = agent_edit(repo, {"notes.md": "turn 1\n"}, "r-t")
    (repo.root / "app.py").write_text("print('user')\n")
    agent_edit(repo, {"app.py": "print('turn 2')\n"}, "r-t")

    result = undo_last(repo)

    assert len(result.shas) == 2  # turn 2's agent commit and its wip, not turn 1's
    assert repo.head_sha() == first
    assert result.restored_user_changes == ["app.py"]
    assert (repo.root / "app.py").read_text() == "print('user')\n"
    assert (repo.root / "notes.md").read_text() == "turn 1\n"


def test_undo_last_keeps_a_wip_of_another_run_then_undoes_it_on_its_own(repo: GitRepo) -> None:
    before = repo.head_sha()
    (repo.root / "notes.md").write_text("user notes\n")
    wip = repo.save_user_changes(["notes.md"], "r-aborted")  # that run ended before committing
    agent = agent_edit(repo, {"app.py": "print('v2')\n"}, "r-next")

    assert undo_last(repo).shas == [agent]
    assert repo.head_sha() == wip

    result = undo_last(repo)  # HEAD is now a wip commit: it comes off, the changes come back
    assert result.shas == [wip]
    assert result.restored_user_changes == ["notes.md"]
    assert repo.head_sha() == before
    assert status(repo.root) == [" M notes.md"]


def test_undo_run_finds_a_run_with_only_wips_left_on_top(repo: GitRepo) -> None:
    older = agent_edit(repo, {"app.py": "print('v2')\n"}, "r-old")
    (repo.root / "notes.md").write_text("user notes\n")
    (repo.root / "draft.txt").write_text("user draft\n")
    repo.save_user_changes(["notes.md"], "r-wip")
    repo.save_user_changes(["draft.txt"], "r-wip")

    result = undo_run(repo, None)

    assert len(result.shas) == 2
    assert result.restored_user_changes == ["draft.txt", "notes.md"]
    assert repo.head_sha() == older
    assert (repo.root / "app.py").read_text() == "print('v2')\n"
    assert status(repo.root) == [" M notes.md", "?? draft.txt"]


# -- run id prefixes ---------------------------------------------------------------------------


def test_undo_run_accepts_a_unique_prefix(repo: GitRepo) -> None:
    before = repo.head_sha()
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-1m7yd5h6xk3qa")
    result = undo_run(repo, "r-1m7yd5h6")
    assert len(result.shas) == 1
    assert repo.head_sha() == before


def test_undo_run_refuses_an_ambiguous_prefix(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-1m7yd5h6aaaaa")
    head = agent_edit(repo, {"notes.md": "n\n"}, "r-1m7yd5h6bbbbb")
    with pytest.raises(UndoRefusedError) as caught:
        undo_run(repo, "r-1m7yd5h6")
    assert "ambiguous" in caught.value.message
    assert "r-1m7yd5h6aaaaa" in caught.value.message and "r-1m7yd5h6bbbbb" in caught.value.message
    assert repo.head_sha() == head
    assert len(undo_run(repo, "r-1m7yd5h6b").shas) == 1


def test_undo_run_an_exact_id_wins_over_longer_ids_it_prefixes(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-12")
    kept = repo.head_sha()
    agent_edit(repo, {"notes.md": "n\n"}, "r-1")
    assert len(undo_run(repo, "r-1").shas) == 1
    assert repo.head_sha() == kept


def test_undo_run_prefix_is_not_a_pattern(repo: GitRepo) -> None:
    agent_edit(repo, {"app.py": "print('v2')\n"}, "r-abc")
    with pytest.raises(UndoRefusedError, match=r"no commit of run r-\.\* "):
        undo_run(repo, "r-.*")


# -- signing -------------------------------------------------------------------------------------


def test_revert_ignores_broken_commit_signing(repo: GitRepo, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    git(repo.root, "remote", "add", "origin", str(origin))
    sha = agent_edit(repo, {"app.py": "print('v2')\n"}, "r-signed")
    git(repo.root, "push", "-q", "origin", "HEAD:refs/heads/main")
    git(repo.root, "fetch", "-q", "origin")
    git(repo.root, "config", "commit.gpgsign", "true")
    git(repo.root, "config", "gpg.program", "false")
    result = undo_last(repo)
    assert result.method == "revert" and result.shas == [sha]
    assert (repo.root / "app.py").read_text() == "print('v1')\n"
