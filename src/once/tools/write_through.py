"""Landing a turn's edits through a writer (an editor's `fs/write_text_file`), not by renames.

An editor writes one file at a time, so the edits land one by one. The commit reads the disk,
so each write is checked there: an editor that only changed its buffer has not landed the
edit. When a write fails, the files already written are written back as the editor held them
and a file the turn created is removed, so the turn's edits still land whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NoReturn

FileWriter = Callable[[Path, bytes], None]
"""Writes a file as the user's editor saves it; raises OSError when it cannot."""


@dataclass(frozen=True)
class Landing:
    rel: str
    absolute: Path
    data: bytes
    old: bytes | None
    """The file on disk before the turn wrote it; None: it did not exist."""
    held: bytes | None
    """What the editor held before (its unsaved buffer, or the disk): written back on failure."""


class LandingFailed(OSError):
    """A write failed; `kept` names files that could not be put back and hold the new content."""

    def __init__(self, message: str, kept: list[str]) -> None:
        super().__init__(message)
        self.kept = kept


def land_through(writer: FileWriter, landings: list[Landing]) -> None:
    done: list[Landing] = []
    for landing in landings:
        try:
            landing.absolute.parent.mkdir(parents=True, exist_ok=True)  # an editor may not make folders
            writer(landing.absolute, landing.data)
        except OSError as exc:
            touched = _on_disk(landing.absolute) != landing.old  # a refusal may come after a write
            _fail(writer, done, landing if touched else None, f"{landing.rel}: {exc}")
        if _on_disk(landing.absolute) != landing.data:
            _fail(writer, done, landing, f"{landing.rel}: the editor took the write, but the file on disk does "
                                         "not hold it (the editor may have changed only its buffer)")
        done.append(landing)


def _fail(writer: FileWriter, done: list[Landing], failed: Landing | None, reason: str) -> NoReturn:
    """Put back what was written, then raise what failed and what could not be put back."""
    written = done + ([failed] if failed is not None else [])
    for landing in reversed(written):
        try:
            if landing.old is None:
                landing.absolute.unlink(missing_ok=True)
            else:
                writer(landing.absolute, landing.held if landing.held is not None else landing.old)
        except OSError:
            pass  # the disk says below whether it went back
    kept = [landing.rel for landing in written if _on_disk(landing.absolute) == landing.data]
    if kept:
        reason += f"; {', '.join(kept)} could not be put back and hold the new content"
    elif done:
        reason += "; the files written before it were put back"
    raise LandingFailed(reason, kept)


def _on_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
