"""What a command can leave in the repository where a file or a folder was: a FIFO (a reader
waits for a writer for good), a link to a device (`/dev/zero` never ends), a folder swapped for a
link out of the repository. The agent's own reads, commits, recovery and index neither block on
them nor reach outside through them. Real files, real git; each test fails (or hangs, stopped by
the suite's timeout) without the defence."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from once.safety.regular import committed_bytes, link_on_the_way, open_regular, read_regular
from once.vcs import GitRepo
from tests.conftest import git, make_repo


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository holding what the sandbox hides (a stand-in for ~/.ssh)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "config").write_text("Host * IdentityFile secret-key-material\n")
    return folder


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "file").write_bytes(b"data")
    (tmp_path / "link").symlink_to("file")
    assert open_regular(fifo) is None and read_regular(tmp_path / "zero") is None
    assert committed_bytes(fifo) is None
    assert committed_bytes(tmp_path / "zero") == b"/dev/zero"  # what git stores for a link
    assert committed_bytes(tmp_path / "link") == b"file" and committed_bytes(tmp_path / "file") == b"data"
    assert read_regular(tmp_path / "link") == b"data" and read_regular(tmp_path / "link", follow=False) is None


def test_a_folder_swapped_for_a_link_out_is_never_committed_from(tmp_path: Path, outside: Path) -> None:
    """git would read `cfg/config` through the link and commit the outside file, which a
    sandboxed `git show` then prints."""
    repo = make_repo(tmp_path / "repo", {"cfg/config": "placeholder\n", "a.txt": "a\n"})
    opened = GitRepo.open(repo)
    (repo / "cfg" / "config").unlink()
    (repo / "cfg").rmdir()
    (repo / "cfg").symlink_to(outside)
    (repo / "a.txt").write_text("b\n")
    assert link_on_the_way(repo, "cfg/config")
    known = opened.paths_status(["cfg", "cfg/config", "a.txt"])
    assert known.refused == {"cfg", "cfg/config"} and known.committable == ["a.txt"]
    opened.commit_committable(known.committable, "agent: edit", known)
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert tree == ["a.txt", "cfg/config"]  # as before: the link and what is beyond it left out
    assert git(repo, "show", "HEAD:cfg/config") == "placeholder\n"


def test_a_tracked_file_turned_into_a_fifo_is_left_out_of_the_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "b.txt": "b\n"})
    (repo / "a.txt").unlink()
    os.mkfifo(repo / "a.txt")
    (repo / "b.txt").write_text("c\n")
    opened = GitRepo.open(repo)
    known = opened.paths_status(["a.txt", "b.txt"])
    assert known.refused == {"a.txt"}
    opened.commit_committable(known.committable, "agent: edit", known)
    assert git(repo, "show", "HEAD:b.txt") == "c\n" and git(repo, "show", "HEAD:a.txt") == "a\n"


def test_recovery_reads_no_fifo_and_deletes_nothing_through_a_linked_folder(tmp_path: Path, outside: Path) -> None:
    from once.atomic import write_temp_beside
    from once.recovery.worktree import disk_blobs, remove_temps

    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "d/x.txt": "x\n"})
    since = time.time() - 5
    (repo / "a.txt").unlink()
    os.mkfifo(repo / "a.txt")
    assert disk_blobs(repo, ["a.txt"]) == {"a.txt": None}  # changed, and not read
    decoy = write_temp_beside(outside / "x.txt", b"theirs")  # a temp-like name the attacker chose
    (repo / "d" / "x.txt").unlink()
    (repo / "d").rmdir()
    (repo / "d").symlink_to(outside)
    assert remove_temps(GitRepo.open(repo), ["d/x.txt"], since) == []
    assert decoy.exists()


def test_instruction_and_submodule_files_that_are_fifos_do_not_block(tmp_path: Path) -> None:
    from once.agent.context_files import ContextFileError, read_prefix
    from once.safety.sandbox import _submodule_git_dirs

    os.mkfifo(tmp_path / "AGENTS.md")
    with pytest.raises(ContextFileError, match="not a regular file"):
        read_prefix(tmp_path / "AGENTS.md", 1000)
    os.mkfifo(tmp_path / ".gitmodules")
    assert _submodule_git_dirs(tmp_path) == []


def test_edits_without_a_file_name_look_only_at_regular_files(tmp_path: Path) -> None:
    from once.agent.text_edit_apply import _repo_files

    (tmp_path / "a.py").write_text("x = 1\n")
    os.mkfifo(tmp_path / "b.py")
    (tmp_path / "c.py").symlink_to("/dev/zero")
    assert list(_repo_files(tmp_path)) == ["a.py"]


def test_the_index_takes_nothing_through_a_linked_folder(tmp_path: Path, outside: Path) -> None:
    from once.index.index import refresh_index
    from once.store.store import Store

    (outside / "notes.md").write_text("# Zanzibar hidden heading\n")
    repo = make_repo(tmp_path / "repo", {"cfg/notes.md": "# mine\n", "app.py": "def f():\n    pass\n"})
    (repo / "cfg" / "notes.md").unlink()
    (repo / "cfg").rmdir()
    (repo / "cfg").symlink_to(outside)
    with Store(tmp_path / "db") as store:
        refresh_index(store.conn, repo, workers=1)
        paths = [row[0] for row in store.conn.execute("SELECT path FROM file_index")]
        texts = " ".join(str(row) for row in store.conn.execute("SELECT * FROM file_index"))
    assert "cfg/notes.md" not in paths and "Zanzibar" not in texts
    assert "app.py" in paths
