"""list_files, read_file and search on real temporary git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.tools import TOOL_NAMES, build_registry, default_tools
from once.tools.base import ToolContext
from once.tools.listing import glob_match, list_files, repo_files
from once.tools.read import read_file
from once.tools.search import search
from once.tools.workspace import Workspace
from tests.conftest import git, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty repository: each test adds and commits what it needs."""
    return init_repo(tmp_path / "repo")


def put(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def ctx(root: Path) -> ToolContext:
    return ToolContext(workspace=Workspace(root))


def test_default_tools_match_the_design_table() -> None:
    assert [tool.name for tool in default_tools()] == list(TOOL_NAMES)
    for schema in build_registry().schemas():
        assert schema["input_schema"]["type"] == "object" and schema["description"]


# ---- list_files ----------------------------------------------------------------


def test_listing_honours_gitignore_and_drops_deleted_files(repo: Path) -> None:
    put(repo, ".gitignore", "build/\n*.log\n")
    put(repo, "src/a.py", "a\n")
    put(repo, "gone.txt", "x\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    (repo / "gone.txt").unlink()
    put(repo, "src/pkg/b.py", "b\n")  # untracked but not ignored
    put(repo, "build/out.txt", "o\n")
    put(repo, "debug.log", "l\n")
    out = list_files(ctx(repo))
    assert not out.is_error
    assert out.text.splitlines() == [".gitignore", "src/a.py", "src/pkg/b.py"]


def test_listing_outside_git_walks_and_skips_dot_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "plain"
    put(root, "a.txt", "a")
    put(root, "d/b.txt", "b")
    put(root, ".git/config", "not a real repo")
    assert repo_files(root) == ["a.txt", "d/b.txt"]


def test_listing_cap_is_said(repo: Path) -> None:
    for i in range(520):
        put(repo, f"many/f{i:03}.txt", "")
    lines = list_files(ctx(repo)).text.splitlines()
    assert len(lines) == 501
    assert lines[0] == "many/f000.txt"
    assert lines[-1] == "... 20 more; narrow with path or pattern"


def test_listing_with_path_and_patterns(repo: Path) -> None:
    for rel in ["src/a.py", "src/pkg/b.py", "src/pkg/c.pyi", "docs/d.md", "top.py"]:
        put(repo, rel, "")
    c = ctx(repo)
    assert list_files(c, pattern="*.py").text.splitlines() == ["src/a.py", "src/pkg/b.py", "top.py"]
    assert list_files(c, pattern="src/**/*.py").text.splitlines() == ["src/a.py", "src/pkg/b.py"]
    assert list_files(c, pattern="src/*.py").text.splitlines() == ["src/a.py"]
    assert list_files(c, pattern="*.{py,pyi}", path="src/pkg").text.splitlines() == ["src/pkg/b.py", "src/pkg/c.pyi"]
    assert list_files(c, path="src/pkg", pattern="b.py").text == "src/pkg/b.py"
    none = list_files(c, pattern="*.rs")
    assert not none.is_error and "No files" in none.text and "**" in none.text
    missing = list_files(c, path="nope")
    assert missing.is_error and "does not exist" in missing.text


def test_listing_shows_staged_files(repo: Path) -> None:
    c = ctx(repo)
    c.workspace.stage("new/staged.py", b"x = 1\n")
    assert "new/staged.py" in list_files(c).text.splitlines()


@pytest.mark.parametrize(("rel", "pattern", "expected"), [
    ("a/b/c.py", "**/*.py", True),
    ("c.py", "**/*.py", True),
    ("a/b/c.py", "a/**/c.py", True),
    ("a/c.py", "a/**/c.py", True),
    ("a/b/c.py", "a/*.py", False),
    ("a/b/c.py", "c.?y", True),
    ("a/b/c.py", "[abc].py", True),
    ("a/b/d.py", "[!abc].py", True),
    ("a/b/c.py", "[!abc].py", False),
    ("a/b/c.py", "a/", True),
    ("a/b/c.py", "/c.py", False),
    ("c.py", "/c.py", True),
    ("x{y.py", "x{y.py", True),
])
def test_glob_match(rel: str, pattern: str, expected: bool) -> None:
    assert glob_match(rel, pattern) is expected


# ---- read_file -----------------------------------------------------------------


def test_read_numbers_lines_like_cat_n(repo: Path) -> None:
    put(repo, "a.txt", "first\n\tsecond\nthird")
    out = read_file(ctx(repo), "a.txt")
    assert out.text == "     1\tfirst\n     2\t\tsecond\n     3\tthird"


def test_read_pages_and_says_how_to_read_on(repo: Path) -> None:
    put(repo, "big.txt", "".join(f"line {i}\n" for i in range(1, 2501)))
    c = ctx(repo)
    first = read_file(c, "big.txt").text.splitlines()
    assert first[0] == "     1\tline 1" and first[1999] == "  2000\tline 2000"
    assert first[-1] == "[lines 1-2000 of 2500; call read_file with offset=2001 to read on]"
    rest = read_file(c, "big.txt", offset=2001).text.splitlines()
    assert rest[0] == "  2001\tline 2001" and rest[-1] == "  2500\tline 2500"
    window = read_file(c, "big.txt", offset=10, limit=3).text.splitlines()
    assert window == ["    10\tline 10", "    11\tline 11", "    12\tline 12",
                      "[lines 10-12 of 2500; call read_file with offset=13 to read on]"]
    past = read_file(c, "big.txt", offset=3000)
    assert past.is_error and "2500 lines" in past.text
    assert read_file(c, "big.txt", offset=0).is_error


def test_read_cuts_long_lines(repo: Path) -> None:
    put(repo, "long.txt", "x" * 5000 + "\nshort\n")
    lines = read_file(ctx(repo), "long.txt").text.splitlines()
    assert lines[0].startswith("     1\t" + "x" * 2000 + " [")
    assert "5000 chars" in lines[0] and "x" * 2001 not in lines[0]
    assert lines[1] == "     2\tshort"


@pytest.mark.parametrize("data", [b"PK\x03\x04\x00\x00binary", b"caf\xe9 latin-1\n"])
def test_read_refuses_binary(repo: Path, data: bytes) -> None:
    put(repo, "blob.bin", data)
    out = read_file(ctx(repo), "blob.bin")
    assert out.is_error and "binary" in out.text


def test_read_empty_missing_and_directory(repo: Path) -> None:
    put(repo, "empty.txt", "")
    put(repo, "dir/x.txt", "x")
    c = ctx(repo)
    empty = read_file(c, "empty.txt")
    assert not empty.is_error and "empty" in empty.text
    missing = read_file(c, "nope.txt")
    assert missing.is_error and "not found" in missing.text and "list_files" in missing.text
    folder = read_file(c, "dir")
    assert folder.is_error and "directory" in folder.text and "list_files" in folder.text


# ---- search --------------------------------------------------------------------


def test_search_reports_path_line_text(repo: Path) -> None:
    put(repo, ".gitignore", "ignored/\n")
    put(repo, "src/a.py", "import os\ndef handler():\n    return os.getcwd()\n")
    put(repo, "src/b.txt", "os here too\n")
    put(repo, "ignored/c.py", "import os\n")
    put(repo, "img.png", b"\x89PNG\x00import os")
    c = ctx(repo)
    out = search(c, r"\bos\b")
    assert out.text.splitlines() == ["src/a.py:1: import os", "src/a.py:3:     return os.getcwd()",
                                     "src/b.txt:1: os here too", "[3 matches (1 binary or over-1-MB file skipped)]"]
    assert search(c, "os", glob="*.py").text.splitlines()[:2] == ["src/a.py:1: import os",
                                                                   "src/a.py:3:     return os.getcwd()"]
    assert search(c, "os", path="src/b.txt").text == "src/b.txt:1: os here too"
    none = search(c, "nothing_like_this")
    assert not none.is_error and "No matches" in none.text


def test_search_sees_staged_edits(repo: Path) -> None:
    put(repo, "a.py", "old_name = 1\n")
    c = ctx(repo)
    c.workspace.stage("a.py", b"new_name = 1\n")
    assert search(c, "new_name").text == "a.py:1: new_name = 1"


def test_search_cap_is_said(repo: Path) -> None:
    put(repo, "many.txt", "hit\n" * 250)
    lines = search(ctx(repo), "hit").text.splitlines()
    assert len(lines) == 201
    assert lines[199] == "many.txt:200: hit"
    assert lines[-1].startswith("[showing 200 of 250 matches; narrow with path or glob")


def test_search_invalid_regex_is_an_error(repo: Path) -> None:
    out = search(ctx(repo), "foo(")
    assert out.is_error and "Invalid regex" in out.text and "missing )" in out.text
