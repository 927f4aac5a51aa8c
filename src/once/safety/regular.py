"""Files of the repository read as what they are now: a command can leave a FIFO where a file
was (a reader would wait for a writer for good), a device or a link to one (`/dev/zero` never
ends), or swap a folder for a link out of the repository."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath


def open_regular(path: Path | str, *, follow: bool = True) -> int | None:
    """A descriptor on `path` if it is a regular file (after links, unless `follow` is False),
    else None. Opened without blocking: a FIFO answers at once and is refused."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:
        os.close(fd)
        return None
    return fd


def read_regular(path: Path | str, *, follow: bool = True, limit: int | None = None) -> bytes | None:
    """The bytes of `path` (at most `limit`) if it is a readable regular file, else None."""
    fd = open_regular(path, follow=follow)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read() if limit is None else handle.read(limit)
        except OSError:
            return None


def committed_bytes(path: Path | str) -> bytes | None:
    """What git would store for `path`: a link's target, a regular file's bytes; None for
    nothing there and for anything git does not store (a FIFO, a device, a folder)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        try:
            return os.fsencode(os.readlink(path))
        except OSError:
            return None
    return read_regular(path, follow=False) if stat.S_ISREG(mode) else None


def link_on_the_way(root: Path, rel: str) -> bool:
    """Whether a folder between `root` and `rel` is a link (or not a folder): git and the agent
    would reach `rel` through it, wherever it points."""
    current = Path(root)
    for part in PurePosixPath(rel).parts[:-1]:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return False  # nothing there: nothing is read or written through it
        if not stat.S_ISDIR(mode):
            return True
    return False


def storable(root: Path, rel: str) -> bool:
    """Whether `rel` is something a commit may take from disk: absent (a deletion), a regular
    file or a link, reached through no link."""
    if link_on_the_way(root, rel):
        return False
    try:
        mode = os.lstat(Path(root) / rel).st_mode
    except OSError:
        return True
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)
