"""Every file tool stays inside the repository and out of .git, and odd names work."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from once.safety.paths import PathRefused, confine
from once.tools import build_registry
from once.tools.base import ToolContext, ToolOutput
from once.tools.edit import edit_file, write_file
from once.tools.listing import list_files
from once.tools.read import read_file
from once.tools.search import search
from once.tools.workspace import Workspace
from tests.conftest import init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository with links pointing outside it (git identity: conftest)."""
    root = init_repo(tmp_path / "repo")
    (root / "sub").mkdir()
    (root / "sub" / "inside.txt").write_text("inside\n")
    (tmp_path / "outside.txt").write_text("secret outside\n")
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside_dir" / "o.txt").write_text("secret outside\n")
    (root / "link_out.txt").symlink_to(tmp_path / "outside.txt")
    (root / "link_dir").symlink_to(tmp_path / "outside_dir")
    return root


def ctx(root: Path) -> ToolContext:
    return ToolContext(workspace=Workspace(root))


Call = Callable[[ToolContext, str], ToolOutput]

CALLS: dict[str, Call] = {
    "read_file": lambda c, p: read_file(c, p),
    "write_file": lambda c, p: write_file(c, p, "pwned\n"),
    "edit_file": lambda c, p: edit_file(c, p, "secret", "pwned"),
    "list_files": lambda c, p: list_files(c, path=p),
    "search": lambda c, p: search(c, "secret", path=p),
}

BAD_PATHS = ["..", "../x", "../outside.txt", "sub/../../outside.txt", "/etc/passwd", "/etc",
             ".git/config", "sub/../.git/HEAD", ".git", "./.git/hooks/pre-commit",
             "link_out.txt", "link_dir/o.txt", "link_dir/new.txt"]


@pytest.mark.parametrize("tool", sorted(CALLS))
@pytest.mark.parametrize("path", BAD_PATHS)
def test_paths_outside_or_in_git_are_error_results(repo: Path, tool: str, path: str) -> None:
    c = ctx(repo)
    out = CALLS[tool](c, path)  # a raise here fails the test: tools never raise
    assert out.is_error, out.text
    assert "secret outside" not in out.text
    assert c.workspace.pending_paths() == []


def test_absolute_path_outside_is_refused(repo: Path) -> None:
    outside = repo.parent / "outside.txt"
    c = ctx(repo)
    for tool, call in CALLS.items():
        out = call(c, str(outside))
        assert out.is_error and "outside" in out.text, tool
    assert outside.read_text() == "secret outside\n"


def test_absolute_path_inside_is_accepted(repo: Path) -> None:
    out = read_file(ctx(repo), str(repo / "sub" / "inside.txt"))
    assert out.text == "     1\tinside"


def test_refusals_through_the_registry_are_clean_messages(repo: Path) -> None:
    registry = build_registry()
    out = registry.call("read_file", {"path": ".git/config"}, ctx(repo))
    assert out.is_error and ".git" in out.text and "failed:" not in out.text
    out = registry.call("write_file", {"path": "link_out.txt", "content": "x"}, ctx(repo))
    assert out.is_error and "symlink" in out.text


def test_symlinked_outside_file_is_never_written(repo: Path) -> None:
    c = ctx(repo)
    write_file(c, "link_out.txt", "pwned")
    edit_file(c, "link_out.txt", "secret", "pwned")
    c.workspace.flush()
    assert (repo.parent / "outside.txt").read_text() == "secret outside\n"
    assert not any("secret" in line for line in search(c, "secret").text.splitlines() if ":" in line)


ODD_NAMES = ["with space.py", "non\u00a0breaking.txt", "ünïcödé.md", "-leading-dash.py", "--help",
             "dir with space/ünï file.txt"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_but_legal_names_work_end_to_end(repo: Path, name: str) -> None:
    c = ctx(repo)
    assert write_file(c, name, "alpha = 1\nbeta = 2\n").text.startswith("Created ")
    assert name in list_files(c).text.splitlines()  # staged, not yet on disk
    assert not edit_file(c, name, "beta = 2", "beta = 3").is_error
    assert read_file(c, name).text == "     1\talpha = 1\n     2\tbeta = 3"
    c.workspace.flush()
    assert (repo / name).read_text(encoding="utf-8") == "alpha = 1\nbeta = 3\n"
    fresh = ctx(repo)
    assert name in list_files(fresh).text.splitlines()
    assert list_files(fresh, pattern=name.rsplit("/", 1)[-1]).text == name
    assert search(fresh, "beta = 3").text == f"{name}:2: beta = 3"
    assert read_file(fresh, name).text.endswith("beta = 3")


def test_a_name_of_non_breaking_spaces_is_a_real_file(tmp_path):
    from once.safety.paths import PathRefused, confine

    (tmp_path / "\xa0").write_text("x")
    absolute, rel = confine(tmp_path, "\xa0")
    assert rel == "\xa0" and absolute.read_text() == "x"
    with pytest.raises(PathRefused):
        confine(tmp_path, " \t")


@pytest.mark.parametrize("path", [".GIT/config", ".Git/hooks/x", "git~1/config", ".git./config", ".git /config",
                                  "sub/.GIT/HEAD", ".git::$INDEX_ALLOCATION/config", ".g\u200cit/config",
                                  ".git\\config", "a\\..\\.git\\hooks\\post-commit", "sub/.GIT\\x"])
def test_names_a_file_system_may_take_for_dot_git_are_refused(tmp_path, path):
    with pytest.raises(PathRefused, match=r"\.git"):
        confine(tmp_path, path)


@pytest.mark.parametrize("path", [".github/workflows/ci.yml", ".gitignore", "git/notes.md", "...", "a/.gitkeep",
                                  "a\\b.txt", "x\\..\\y"])
def test_names_that_only_look_close_to_dot_git_are_fine(tmp_path, path):
    assert confine(tmp_path, path)[1] == path
