"""Confinement of every tool path to the repository root."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


ASCII_BLANKS = " \t\r\n\f\v"
# Code points HFS+ ignores in names (git's is_hfs_dotgit): ".g\u200cit" is ".git" there.
_HFS_IGNORED = frozenset([*map(chr, range(0x200C, 0x2010)), *map(chr, range(0x202A, 0x202F)),
                          *map(chr, range(0x206A, 0x2070)), "\ufeff"])


def git_lookalike(name: str) -> bool:
    """Whether a file system may take this path component for `.git`: any case (`.GIT` on a
    case-insensitive disk), trailing dots or spaces and `::$DATA` streams (Windows), the 8.3
    short name `git~1`, HFS+'s ignored code points, a backslash-separated `.git` (Windows).
    Git itself refuses to add such names."""
    # A backslash separates folders on Windows (git refuses `.git\\config` for that).
    for piece in name.split("\\"):
        folded = "".join(ch for ch in piece if ch not in _HFS_IGNORED).lower()
        if folded.split(":", 1)[0].rstrip(" .") in (".git", "git~1"):
            return True
    return False


class Refused(ValueError):
    """An action the agent may not take; the message tells the model why and what to do."""


class PathRefused(Refused):
    """A path the agent may not touch; the message says why and what to do."""


def confine(root: Path, path: str) -> tuple[Path, str]:
    """Resolve `path` (relative to `root`) and return (absolute path, repo-relative posix path).

    Refuses `..` escapes, absolute paths outside the root, symlinks that lead out of
    the root, and anything inside a `.git` directory.
    """
    if not isinstance(path, str) or path.strip(ASCII_BLANKS) == "":  # a lone non-breaking space is a real name
        raise PathRefused("Empty path. Give a path relative to the repository root, e.g. 'src/app.py'.")
    if "\x00" in path:
        raise PathRefused("Path contains a NUL byte.")
    real_root = Path(os.path.realpath(root))
    candidate = Path(path)
    if candidate.is_absolute():
        absolute = Path(os.path.normpath(candidate))
        try:
            relative = absolute.relative_to(real_root)
        except ValueError:
            try:
                relative = absolute.relative_to(Path(os.path.normpath(root)))
            except ValueError:
                raise PathRefused(
                    f"'{path}' is outside the repository. Use a path relative to the repository root."
                ) from None
    else:
        relative = Path(os.path.normpath(candidate))
    parts = PurePosixPath(relative.as_posix()).parts
    if parts and parts[0] == "..":
        raise PathRefused(f"'{path}' points outside the repository. Use a path inside it.")
    if any(git_lookalike(part) for part in parts):
        raise PathRefused(f"'{path}' is inside .git/ (or a name a file system may take for it), which the agent "
                          "never touches. Use git through run_command.")
    absolute = real_root.joinpath(*parts) if parts and parts != (".",) else real_root
    resolved = Path(os.path.realpath(absolute))
    if resolved != real_root and real_root not in resolved.parents:
        raise PathRefused(f"'{path}' resolves (through a symlink) to a place outside the repository.")
    rel_parts = resolved.relative_to(real_root).parts if resolved != real_root else ()
    if any(git_lookalike(part) for part in rel_parts):
        raise PathRefused(f"'{path}' resolves into .git/, which the agent never touches.")
    # Edits go to the real file a symlink inside the repo points at, and git sees that path.
    rel = PurePosixPath(*rel_parts).as_posix() if rel_parts else "."
    return resolved, rel
