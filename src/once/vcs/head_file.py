"""HEAD read from the files git keeps it in (the plain layout): the branch and commit without a
git process, two fewer per commit. Anything the files do not settle is left to git."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class HeadFile:
    branch: str | None
    """The branch HEAD names (`refs/heads/` left out); None when detached."""
    sha: str | None
    """The commit, None on an unborn branch."""
    sha_known: bool
    """False when only git can say (the branch is in packed-refs)."""


def read_head(git_dir: Path) -> HeadFile | None:
    """HEAD as `git symbolic-ref` and `git rev-parse HEAD` would answer, or None when git should
    be asked (reftable refs, a link, anything unexpected)."""
    head = git_dir / "HEAD"
    if os.path.exists(git_dir / "reftable") or os.path.islink(head):
        return None
    try:
        text = head.read_bytes().decode("ascii").rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if _is_sha(text):
        return HeadFile(None, text, True)
    if not text.startswith("ref: refs/heads/") or ".." in text or "\n" in text:
        return None
    ref = text[len("ref: "):]
    loose = git_dir / ref
    try:
        sha = loose.read_bytes().decode("ascii").rstrip("\n") if not os.path.islink(loose) else ""
    except FileNotFoundError:
        # Unborn unless the branch is packed: only then does git have to say.
        return HeadFile(ref[len("refs/heads/"):], None, not os.path.exists(git_dir / "packed-refs"))
    except (OSError, UnicodeDecodeError):
        return None
    if not _is_sha(sha):
        return None
    return HeadFile(ref[len("refs/heads/"):], sha, True)


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and not set(text) - _HEX
