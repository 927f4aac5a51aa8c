"""`@path` mentions in a prompt: the one being typed, fuzzy completion from the repository's files,
and the mentioned files attached to the prompt the run receives. No Textual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


MENTION = re.compile(r"(?:^|(?<=\s))@([^\s@]+)")
FILE_CAP = 20_000
"""Characters of one mentioned file sent with the prompt (the rest is cut, and it says so)."""
ATTACHED_HEADER = "\n\nFiles mentioned in this prompt:\n"
TOTAL_CAP = 60_000
"""Characters of all mentioned files together."""


def mention_at(text: str, cursor: int) -> tuple[int, str] | None:
    """The `@query` the cursor is at the end of: (offset of the `@`, query), else None."""
    start = cursor
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:cursor]
    if not token.startswith("@") or "@" in token[1:]:
        return None
    return start, token[1:]


def _score(query: str, path: str) -> tuple[int, ...] | None:
    """Lower is better; None when the query's characters are not in the path in order."""
    lowered, q = path.lower(), query.lower()
    name = PurePosixPath(lowered).name
    if q in name:
        return (0, name.index(q), len(path))
    if q in lowered:
        return (1, lowered.index(q), len(path))
    position, gaps = -1, 0
    for char in q:
        found = lowered.find(char, position + 1)
        if found < 0:
            return None
        gaps += found - position - 1
        position = found
    return (2, gaps, len(path))


def fuzzy_files(query: str, files: list[str], limit: int = 8) -> list[str]:
    """The files that match `query` best: in the name, then in the path, then as a subsequence."""
    if not query:
        return files[:limit]
    scored = [(score, path) for path in files if (score := _score(query, path)) is not None]
    return [path for _, path in sorted(scored)[:limit]]


def mentioned(text: str) -> list[str]:
    """Every `@path` in a prompt, in order, each once (a trailing comma or full stop is not part of it)."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        path = match.group(1).rstrip(".,;:!?)")
        if path and path not in found:
            found.append(path)
    return found


@dataclass
class Attached:
    """The prompt the run receives and what was attached to it (or why not)."""

    prompt: str
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    block: str = ""
    """The attached files' text, sent to the model beside the prompt (never stored as the prompt)."""


def attach_mentions(root: Path, text: str, file_cap: int = FILE_CAP, total_cap: int = TOTAL_CAP) -> Attached:
    """The typed prompt, then each mentioned file's content (within the caps); what is not a
    readable text file in the repository is left as typed."""
    result = Attached(text)
    blocks: list[str] = []
    budget = total_cap
    for rel in mentioned(text):
        content = _read(root, rel)
        if content is None:
            result.skipped.append(rel)
            continue
        cap = min(file_cap, budget)
        if cap <= 0:
            result.skipped.append(rel)
            continue
        cut = content[:cap]
        note = f"\n[cut: the first {cap:,} of {len(content):,} characters]" if len(content) > cap else ""
        blocks.append(f'<file path="{rel}">\n{cut}{note}\n</file>')
        budget -= len(cut)
        result.files.append(rel)
    if blocks:
        result.block = ATTACHED_HEADER.lstrip("\n") + "\n".join(blocks)
        result.prompt = text + "\n\n" + result.block
    return result


def _read(root: Path, rel: str) -> str | None:
    from once.safety.paths import Refused, confine  # the tools package loads at the first mention, not at start
    from once.tools.listing import agent_private
    from once.tools.read import decode_text

    try:
        path, relative = confine(root, rel)
        if agent_private(relative) or not path.is_file():  # once's own records never reach the model
            return None
        return decode_text(path.read_bytes())
    except (Refused, OSError):
        return None
