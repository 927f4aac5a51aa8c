"""Atomic file writes: temp file in the same directory, fsync, then rename."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from once.lazyre import LazyPattern

TEMP_SUFFIX = ".tmp"
_NAME_LIMIT = 40
# `.<target name, at most 40 characters>.<mkstemp's 8 characters of [a-z0-9_]>.tmp`
_TEMP_NAME = LazyPattern(r"\.(.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX), re.DOTALL)


def _temp_prefix(name: str) -> str:
    return f".{name[:_NAME_LIMIT]}."


def temp_target(candidate: str) -> str | None:
    """The (possibly cut) file name a temp file of `write_temp_beside` was made for, or None when
    `candidate` is not such a name: what a process killed between writing and renaming leaves."""
    match = _TEMP_NAME.fullmatch(candidate)
    return match.group(1) if match and len(match.group(1)) <= _NAME_LIMIT else None


def is_temp_of(candidate: str, target: str) -> bool:
    """Whether file name `candidate` is a temp file `write_temp_beside` made for file name `target`."""
    return temp_target(candidate) == target[:_NAME_LIMIT]


def write_temp_beside(path: Path, data: bytes, mode: int | None = None) -> Path:
    """Write `data` to a new temp file next to `path` and return the temp path."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path.name), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    tmp = write_temp_beside(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
