"""Parsing what git reports about the work tree and the git dir. Pure functions."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class StatusEntry:
    """One line of `git status --porcelain=v1`: index state `x`, work-tree state `y`."""

    path: str
    x: str
    y: str
    submodule: bool = False
    """A gitlink (v2's `S...` field): another repository's commit, not a file."""

    @property
    def ignored(self) -> bool:
        return self.x == "!"

    @property
    def nested_repository(self) -> bool:
        """`sub/`: an untracked folder git does not look into, because it holds a repository; or a
        submodule. The agent commits files, never another repository (whose config git would run)."""
        return self.submodule or self.path.endswith("/")

    @property
    def committable(self) -> bool:
        """Something to record: not ignored, not a staged add whose file is gone, not a repository."""
        return not self.ignored and not (self.x == "A" and self.y == "D") and not self.nested_repository


def parse_status(output: bytes) -> list[StatusEntry]:
    """Parse `git status --porcelain=v1 -z` output; a rename's or copy's source path is
    kept as an entry of its own (it is gone from the work tree: state "D")."""
    entries: list[StatusEntry] = []
    records = output.split(b"\0")
    index = 0
    while index < len(records):
        record = records[index]
        index += 1
        if len(record) <= 3:
            continue
        text = os.fsdecode(record)
        x, y = text[0], text[1]
        entries.append(StatusEntry(path=text[3:], x=x, y=y))
        # `R  new\0old\0`: the record after a rename or copy is its source, with no status.
        if (x in "RC" or y in "RC") and index < len(records):
            source = os.fsdecode(records[index])
            index += 1
            if source and "R" in (x, y):  # a copy's source is unchanged; a rename's is gone
                entries.append(StatusEntry(path=source, x="D" if x == "R" else " ", y="D" if y == "R" else " "))
    return entries


@dataclass(frozen=True)
class IndexEntry:
    """What the index held for a path before a commit: `mode` and `oid`, "000000" when absent."""

    path: str
    mode: str
    oid: str


@dataclass(frozen=True)
class PathsStatus:
    """One `git status --porcelain=v2 --branch` of some paths: HEAD, their states, and enough
    of the index to put it back if a commit fails, so no other git call is needed for them."""

    head: str | None
    """HEAD's commit, None on an unborn branch."""
    entries: list[StatusEntry]
    index: dict[str, IndexEntry]
    """Stage-0 index entries of the tracked paths listed (not of untracked ones)."""
    untracked: frozenset[str]
    exact: bool
    """False when an entry (a conflict, an intent-to-add) is more than `index` can restore."""
    refused: frozenset[str] = frozenset()
    """Changed paths a commit must not take from disk: reached through a link, a link over a
    tracked folder, or neither a file nor a link (see once.safety.regular)."""

    @property
    def committable(self) -> list[str]:
        return [entry.path for entry in self.entries if entry.committable and entry.path not in self.refused]

    def ignores(self, path: str) -> bool:
        """`path` is untracked and ignored (itself, or a directory holding it)."""
        return any(e.ignored and _overlap(e.path, path) for e in self.entries)

    def dirty(self, path: str) -> bool:
        """`path` (or a file under it) differs from HEAD, staged or not, or is untracked."""
        return any(not e.ignored and _overlap(e.path, path) for e in self.entries)

    def saved_index(self, paths: list[str]) -> bytes | None:
        """The entries of `paths` as `git ls-files -s -z` prints them, or None if unknown."""
        if not self.exact or any(p not in self.index and p not in self.untracked for p in paths):
            return None
        kept = [self.index[p] for p in paths if p in self.index and self.index[p].mode != "000000"]
        return b"".join(os.fsencode(f"{e.mode} {e.oid} 0\t{e.path}") + b"\0" for e in kept)


def _overlap(listed: str, given: str) -> bool:
    """One path is the other or a directory holding it (git lists an ignored directory as `dir/`)."""
    a, b = listed.rstrip("/"), given.rstrip("/")
    return a == b or b.startswith(a + "/") or a.startswith(b + "/")


def parse_status_v2(output: bytes) -> PathsStatus:
    """Parse `git status --porcelain=v2 -z --branch --no-renames` output."""
    head: str | None = None
    entries: list[StatusEntry] = []
    index: dict[str, IndexEntry] = {}
    untracked: set[str] = set()
    exact = True
    records = iter(output.split(b"\0"))
    for record in records:
        text = os.fsdecode(record)
        if text.startswith("# branch.oid "):
            oid = text.split(" ", 2)[2]
            head = None if oid == "(initial)" else oid
        elif text[:2] in ("? ", "! "):
            entries.append(StatusEntry(path=text[2:], x=text[0], y=text[0]))
            untracked.update([text[2:]] if text[0] == "?" else [])
        elif text[:2] in ("1 ", "2 ", "u "):
            fields = text.split(" ", {"1": 8, "2": 9, "u": 10}[text[0]])
            x, y = (" " if c == "." else c for c in fields[1])
            entries.append(StatusEntry(path=fields[-1], x=x, y=y, submodule=fields[2].startswith("S")))
            if text[0] == "2":
                next(records, None)  # a rename's source; --no-renames means there is none
                exact = False
            elif text[0] == "u" or (x, y) == (" ", "A"):
                exact = False  # stages 1-3, or an intent-to-add: left to `git ls-files -s`
            else:
                index[fields[-1]] = IndexEntry(fields[-1], fields[4], fields[7])
    return PathsStatus(head, entries, index, frozenset(untracked), exact)


def changed_from_status(output: bytes) -> set[str]:
    """Every path a porcelain status names, ignored ones left out (renames give both sides)."""
    return {entry.path for entry in parse_status(output) if not entry.ignored}


# Checked in this order: a rebase stopped on a conflict may also leave a merge or
# cherry-pick marker, and a bisect can be under way around any of them.
OPERATION_MARKERS: tuple[tuple[str, str], ...] = (
    ("rebase-merge", "rebase"),
    ("rebase-apply", "rebase"),
    ("MERGE_HEAD", "merge"),
    ("CHERRY_PICK_HEAD", "cherry-pick"),
    ("REVERT_HEAD", "revert"),
    ("BISECT_LOG", "bisect"),
)


def operation_from_markers(present: set[str], am_applying: bool = False) -> str | None:
    """The operation the existing git-dir markers say is under way, or None.

    `rebase-apply/` with an `applying` file inside is `git am`, not a rebase.
    """
    for marker, operation in OPERATION_MARKERS:
        if marker in present:
            return "am" if marker == "rebase-apply" and am_applying else operation
    return None


def trim_git_output(text: str, limit: int = 400) -> str:
    """The lines of git's stderr that say what failed: hints dropped, the last few kept."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.lower().startswith("hint:")] or lines
    joined = "; ".join(useful[-3:])
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"
