"""The agent's view of the repository during one model turn.

Edits are staged in memory and land together in `flush()`: every new content is
written to a temp file first, then all are renamed into place; if any rename
fails, the files already replaced are restored. So the edits of one model turn land
whole or not at all. Reads see staged content, so a later tool call in the same turn
sees an earlier edit. With a `writer` (an editor that saves files itself) the edits land
through it instead, with the same all-or-nothing promise (see write_through).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from once.atomic import atomic_write_bytes, write_temp_beside
from once.safety.paths import confine
from once.tools.write_through import FileWriter, Landing, land_through


@dataclass(frozen=True)
class FileChange:
    path: str
    """Repo-relative posix path."""
    action: str
    """"created" or "modified"."""


BeforeEdit = Callable[[str], None]
FileReader = Callable[[Path], "bytes | None"]
"""Reads a file as the user's editor holds it (unsaved changes included); None: read the disk."""
ApproveEdit = Callable[[str, "bytes | None", bytes], None]
BeforeLand = Callable[[list[tuple[str, "bytes | None", bytes]]], None]


class Workspace:
    def __init__(self, root: Path, before_edit: BeforeEdit | None = None) -> None:
        self.root = Path(root)
        self.before_edit = before_edit
        self.approve: ApproveEdit | None = None
        """Called for every edit with (path, old bytes or None, new bytes); raises `Refused` to stop it."""
        self.before_land: BeforeLand | None = None
        """Called with (path, old bytes or None, new bytes) of every file `flush` is about to write,
        before the first temp file: the run journals them, so a kill mid-landing leaves a record."""
        self.reader: FileReader | None = None
        """Where reads of files not staged go first (an editor's buffers); the disk when it has none."""
        self.writer: FileWriter | None = None
        """Where edits land instead of temp files and renames (an editor, so its buffers follow)."""
        self._pending: dict[str, tuple[Path, bytes]] = {}
        self._turn_changes: dict[str, FileChange] = {}
        self._seen: set[str] = set()

    def resolve(self, path: str) -> tuple[Path, str]:
        """Absolute path and repo-relative path; raises `PathRefused`."""
        return confine(self.root, path)

    def read_bytes(self, path: str) -> bytes:
        absolute, rel = self.resolve(path)
        if rel in self._pending:
            return self._pending[rel][1]
        return self._read_current(absolute)

    def _read_current(self, absolute: Path) -> bytes:
        held = self.reader(absolute) if self.reader is not None and absolute.is_file() else None
        return held if held is not None else absolute.read_bytes()

    def exists(self, path: str) -> bool:
        absolute, rel = self.resolve(path)
        return rel in self._pending or absolute.is_file()

    def stage(self, path: str, data: bytes) -> str:
        """Stage new content for `path`; returns the repo-relative path."""
        absolute, rel = self.resolve(path)
        if absolute.is_dir():
            raise IsADirectoryError(f"'{rel}' is a directory.")
        if self.approve is not None:
            old = self._pending[rel][1] if rel in self._pending else (
                self._read_current(absolute) if absolute.is_file() else None)
            self.approve(rel, old, data)
        if rel not in self._seen:
            if self.before_edit is not None:
                self.before_edit(rel)
            self._seen.add(rel)
        self._pending[rel] = (absolute, data)
        return rel

    def edited(self, rel: str) -> bool:
        """Whether `rel` (repo-relative) was staged before in this workspace: its first edit is behind."""
        return rel in self._seen

    def pending_paths(self) -> list[str]:
        return sorted(self._pending)

    def discard(self) -> None:
        self._pending.clear()

    def flush(self) -> list[FileChange]:
        """Land every staged edit together; returns what changed on disk."""
        plan: list[tuple[str, Path, bytes, bytes | None]] = []
        for rel, (absolute, data) in self._pending.items():
            old = absolute.read_bytes() if absolute.is_file() else None
            if old != data:
                plan.append((rel, absolute, data, old))
        self._pending.clear()
        if plan and self.before_land is not None:
            self.before_land([(rel, old, data) for rel, _absolute, data, old in plan])
        if self.writer is not None:
            land_through(self.writer, [Landing(rel, absolute, data, old, self._held(absolute, old))
                                       for rel, absolute, data, old in plan])
        else:
            _replace_all(plan)
        changes = []
        for rel, _absolute, _data, old in plan:
            change = FileChange(rel, "created" if old is None else "modified")
            if rel in self._turn_changes and self._turn_changes[rel].action == "created":
                change = self._turn_changes[rel]
            self._turn_changes[rel] = change
            changes.append(change)
        return changes

    def _held(self, absolute: Path, old: bytes | None) -> bytes | None:
        """What the editor holds of a file about to be written: a failed landing writes it back,
        so unsaved changes the edit was made on are not lost."""
        return self._read_current(absolute) if old is not None and self.reader is not None else old

    def note_changes(self, changes: list[FileChange]) -> None:
        """Record changes made on disk by other means (a command the agent ran)."""
        for change in changes:
            self._turn_changes.setdefault(change.path, change)

    def take_turn_changes(self) -> list[FileChange]:
        """Everything flushed since the last call, for the turn's commit."""
        changes = sorted(self._turn_changes.values(), key=lambda c: c.path)
        self._turn_changes = {}
        return changes


def _replace_all(plan: list[tuple[str, Path, bytes, bytes | None]]) -> None:
    """Every new content to a temp file, then every rename; a failure restores what was replaced."""
    temps: list[Path] = []
    done: list[tuple[str, Path, bytes, bytes | None]] = []
    try:
        for rel, absolute, data, old in plan:
            absolute.parent.mkdir(parents=True, exist_ok=True)
            mode = absolute.stat().st_mode & 0o7777 if old is not None else None
            temps.append(write_temp_beside(absolute, data, mode))
        for item, tmp in zip(plan, temps):
            os.replace(tmp, item[1])
            done.append(item)
    except BaseException:
        _restore(done)
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise


def _restore(done: list[tuple[str, Path, bytes, bytes | None]]) -> None:
    for _rel, absolute, _data, old in reversed(done):
        if old is None:
            absolute.unlink(missing_ok=True)
        else:
            atomic_write_bytes(absolute, old)
