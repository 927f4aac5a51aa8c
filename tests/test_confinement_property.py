"""Property tests of `confine`: over random paths (`..`, `.`, empty parts, unicode, NBSP,
leading dashes, `.git`) and random symlinks in a temp repository, a path is either refused
or lands inside the repository (after realpath) and outside `.git`; a plainly inside path
(no `..`, no symlink, no `.git`) is always accepted, as itself."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from once.safety.paths import ASCII_BLANKS, PathRefused, confine, git_lookalike

# Plain names: never ".", "..", ".git" or a name a file system may take for it (".GIT", "git~1"),
# and without "/" or NUL.
PLAIN = st.one_of(
    st.sampled_from(["src", "a.py", "-rf", "--help", "-", "...", " ..", "..\u00a0", "\u00a0", "a b", ".gitignore",
                     ".github", "git", ".gitkeep", "\u202eevil", "é", "e\u0301", "日本語", "😀.txt", "a\\..\\b", "~",
                     "$HOME", "*", "x\ny", ".hidden"]),
    # A name of ASCII blanks alone is refused on purpose (a model's slip, never a file it means).
    st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1,
            max_size=8).filter(lambda s: s not in (".", "..") and not git_lookalike(s) and s.strip(ASCII_BLANKS) != ""),
)
LINKS = ["l1", "l2", "d/l3"]
TARGETS = ["d", "d/e", "d/e/f.txt", "../outside", "../outside/o.txt", ".git", ".git/config", ".", "..",
           "d/missing", "../nowhere", "l1", "l2", "/", "/etc"]
HOSTILE = st.one_of(PLAIN, st.sampled_from([".", "..", ".git", "", "l1", "l2", "l3", "d", "e", "\x00"]))


@contextmanager
def temp_repo(links: list[tuple[str, str]]) -> Iterator[Path]:
    """repo/{d/e/f.txt, .git/config} next to outside/o.txt, plus the given symlinks."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "outside").mkdir()
        (base / "outside" / "o.txt").write_text("outside\n")
        root = base / "repo"
        (root / "d" / "e").mkdir(parents=True)
        (root / "d" / "e" / "f.txt").write_text("inside\n")
        (root / ".git").mkdir()
        (root / ".git" / "config").write_text("[core]\n")
        for name, target in links:
            link = root / name
            if not os.path.lexists(link):
                link.symlink_to(target)
        yield root


def check_result(root: Path, path: str) -> tuple[Path, str] | None:
    """confine(root, path), checked: None when refused."""
    try:
        resolved, rel = confine(root, path)
    except PathRefused as refused:
        assert str(refused)  # the model is told why
        return None
    real_root = Path(os.path.realpath(root))
    assert resolved == Path(os.path.realpath(resolved)) or os.path.islink(resolved)  # loops stay unresolved
    assert resolved == real_root or real_root in resolved.parents, (path, resolved)
    inside = resolved.relative_to(real_root)
    assert ".git" not in inside.parts, (path, resolved)
    assert rel == (inside.as_posix() if inside.parts else ".")
    return resolved, rel


@settings(max_examples=300, deadline=None)
@given(
    links=st.lists(st.tuples(st.sampled_from(LINKS), st.sampled_from(TARGETS)), max_size=3),
    parts=st.lists(HOSTILE, min_size=1, max_size=6),
    absolute=st.booleans(),
)
def test_any_path_is_refused_or_confined(links: list[tuple[str, str]], parts: list[str], absolute: bool) -> None:
    with temp_repo(links) as root:
        path = "/".join(parts)
        outcome = check_result(root, str(root / path) if absolute else path)  # checks confinement inside
        real_root = Path(os.path.realpath(root))
        assert outcome is None or outcome[0] == real_root or real_root in outcome[0].parents, (path, outcome)


@settings(max_examples=200, deadline=None)
@given(
    parents=st.lists(st.sampled_from(["d", "d/e", "."]), max_size=2),
    names=st.lists(PLAIN, min_size=1, max_size=3),
    trailing=st.sampled_from(["", "/", "/."]),
    absolute=st.booleans(),
)
def test_plainly_inside_paths_are_accepted(parents: list[str], names: list[str], trailing: str,
                                           absolute: bool) -> None:
    with temp_repo([]) as root:
        path = "/".join(parents + names) + trailing
        result = check_result(root, str(root / path) if absolute else path)
        assert result is not None, f"refused a plain path: {path!r}"
        expected = PurePosixPath(os.path.normpath(path)).as_posix()
        assert result[1] == expected
        assert result[0] == Path(os.path.realpath(root)) / expected


@settings(max_examples=150, deadline=None)
@given(
    target=st.sampled_from(["../outside", "../outside/o.txt", ".git", ".git/config", "/etc", "..", "../nowhere"]),
    rest=st.lists(PLAIN, max_size=2),
)
def test_symlinks_out_of_the_repo_or_into_git_are_refused(target: str, rest: list[str]) -> None:
    with temp_repo([("l1", target)]) as root:
        path = "/".join(["l1", *rest])
        assert check_result(root, path) is None, f"{path!r} through l1 -> {target!r} was accepted"


@settings(max_examples=150, deadline=None)
@given(escape=st.lists(st.sampled_from(["..", "d/../..", "./..", "d/e/../../.."]), min_size=1, max_size=3),
       rest=st.lists(PLAIN, max_size=2))
def test_dot_dot_escapes_are_refused(escape: list[str], rest: list[str]) -> None:
    with temp_repo([]) as root:
        path = "/".join(escape + rest)
        if os.path.normpath(path).split("/")[0] == "..":
            assert check_result(root, path) is None, path


def test_a_symlink_inside_the_repo_resolves_to_its_target() -> None:
    with temp_repo([("l1", "d/e")]) as root:
        result = check_result(root, "l1/f.txt")
        assert result is not None and result[1] == "d/e/f.txt"
