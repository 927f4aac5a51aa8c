"""The file-reading edge of context assembly: bounded, UTF-8 only, confined to the repo.

Everything here either returns text or raises `ContextFileError` with a message meant for
the user; the pure assembly in `once.agent.context` turns those into warnings.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from pathlib import Path

from once.safety.paths import PathRefused, confine

# Only one of these is used per directory; AGENTS.md wins when both exist.
INSTRUCTION_NAMES: tuple[str, ...] = ("AGENTS.md", "CLAUDE.md")


class ContextFileError(Exception):
    """A context file that exists but cannot be used; the message says which and why."""


@dataclass(frozen=True)
class FileText:
    text: str
    """The decoded text, possibly only a prefix of the file (see `complete`)."""
    complete: bool
    """False when the file was longer than what was read."""
    size_bytes: int


def read_prefix(path: Path, max_chars: int) -> FileText:
    """Read at most enough bytes for `max_chars` characters (plus one) of UTF-8 text.

    Bounded so a runaway knowledge file of gigabytes cannot stall a run. Raises
    ContextFileError for unreadable or non-UTF-8 files.
    """
    from once.safety.regular import open_regular

    max_bytes = (max_chars + 1) * 4  # UTF-8 needs at most 4 bytes per character
    fd = open_regular(path)  # a FIFO a command left under this name would block the run for good
    if fd is None:
        raise ContextFileError("could not be read (not a regular file)")
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(max_bytes + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise ContextFileError(f"could not be read ({exc.strerror or type(exc).__name__})") from None
    complete = len(data) <= max_bytes
    if not complete:
        data = data[:max_bytes]
    # An incremental decoder tolerates a character cut in half at the read boundary.
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        text = decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        raise ContextFileError("is not UTF-8 text") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark is not content
    return FileText(text=text, complete=complete, size_bytes=max(size, len(data)))


def find_instruction_file(repo_root: Path, directory: str) -> str | None:
    """The repo-relative path of the AGENTS.md (else CLAUDE.md) in `directory`, if any.

    The returned path is resolved (a symlinked AGENTS.md names its target) so that the same
    file is never loaded twice under two names. Raises ContextFileError when the file is a
    symlink leading out of the repository or into .git.
    """
    base = repo_root / directory if directory else repo_root
    for name in INSTRUCTION_NAMES:
        candidate = base / name
        if not os.path.lexists(candidate):
            continue
        relative = f"{directory}/{name}" if directory else name
        try:
            resolved, rel = confine(repo_root, relative)
        except PathRefused:
            raise ContextFileError("points outside the repository") from None
        if os.path.isdir(resolved):
            continue  # a directory called AGENTS.md is not instructions
        return rel
    return None


def confine_quietly(repo_root: Path, path: str) -> tuple[Path, str] | None:
    """`confine`, but None instead of an exception for paths the agent may not touch."""
    try:
        return confine(repo_root, path)
    except PathRefused:
        return None
