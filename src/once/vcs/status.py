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

    @property
    def ignored(self) -> bool:
        return self.x == "!"

    @property
    def committable(self) -> bool:
        """Something to record: not ignored, and not a staged add whose file is gone."""
        return not self.ignored and not (self.x == "A" and self.y == "D")


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
