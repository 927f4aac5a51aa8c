"""Edits a model wrote as text: SEARCH/REPLACE blocks, or whole files in fenced blocks.

Small models that fumble structured tool calls can still write these. Parsing is pure;
`once.agent.text_edit_apply` lands the edits through the same tools (fuzzy matching,
secret checks, atomic landing, one commit per turn).

    path/to/file.py
    <<<<<<< SEARCH
    lines to replace (empty: append to the file, or create it)
    =======
    new lines
    >>>>>>> REPLACE

    path/to/file.py
    ```python
    the whole new file
    ```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

# Lenient on purpose: small models write "SEARCH" without the angle brackets, "REPLACE" as
# the divider, and fence each part.
_SEARCH = re.compile(r"^\s*(?:<{3,9}\s*)?SEARCH\s*:?\s*$")
_DIVIDER = re.compile(r"^\s*(?:={3,9}|REPLACE\s*:?)\s*$")
_REPLACE = re.compile(r"^\s*>{3,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^`\s]*)\s*(.*?)\s*$")
_PATHLIKE = re.compile(r"^(?![-/])[^\s`'\"<>|*?:]*[^\s`'\"<>|*?:.]\.[A-Za-z0-9_+-]{1,10}$|^[\w.-]+/[^\s`'\"<>|*?]+$")
_BACKTICKED = re.compile(r"`([^`\n]+)`")
_COMMAND = re.compile(r"`[^`\n]*\s[^`\n]*`")
_LABEL_PREFIX = re.compile(r"^(?:file(?:name)?|path|in|update|updated|create|new file)\s*[:=]?\s*", re.IGNORECASE)
_CODE_LANGUAGES = {"python": ".py", "py": ".py", "python3": ".py", "javascript": ".js", "js": ".js",
                   "jsx": ".jsx", "typescript": ".ts", "ts": ".ts", "tsx": ".tsx", "mjs": ".mjs"}
"""Fence languages whose unnamed blocks may be definitions to merge (value: the file suffix)."""
_DEFINES = re.compile(r"^(?:async\s+)?(?:def|class|function)\s+\w")
_LOOKBACK = 3
"""Lines above a block searched for its file name."""


@dataclass(frozen=True)
class TextEdit:
    path: str
    kind: str
    """"replace" (a SEARCH/REPLACE block; empty search appends or creates), "whole" (a whole file),
    or "snippet" (unnamed code: definitions merged into the file that has them; previous_path holds
    the language's file suffix)."""
    search: str = ""
    replace: str = ""
    """The new text; for "whole" the file's complete content."""
    previous_path: str = ""
    """For a block with no path: the file of the block before it, if the SEARCH text is found nowhere else."""


@dataclass
class ParsedEdits:
    edits: list[TextEdit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Blocks that looked like edits but could not be read, said so the model can fix them."""


Exists = Callable[[str], bool]


def parse_text_edits(text: str, exists: Exists | None = None) -> ParsedEdits:
    """Every edit in a reply, in order. `exists` tells a repo file from a word (for names with spaces)."""
    lines = text.splitlines()
    parsed = ParsedEdits()
    last_path: str | None = None
    block_fence_end = -1  # the closing fence of a fenced group of SEARCH/REPLACE blocks
    i = 0
    while i < len(lines):
        if i == block_fence_end:
            i += 1
            continue
        if _SEARCH.match(lines[i]):
            path = _label_above(lines, i, exists)
            i = _read_block(lines, i, path, parsed, last_path)
            last_path = path or last_path
            continue
        fence = _FENCE.match(lines[i])
        if fence:
            end = _closing_fence(lines, i, fence.group(1))
            body = lines[i + 1:end]
            if any(_SEARCH.match(line) for line in body):
                block_fence_end = end
                i += 1  # the SEARCH/REPLACE blocks inside are read line by line
                continue
            path = _path_in(f"{fence.group(2)} {fence.group(3)}".strip(), exists, fence_info=True) \
                or _label_above(lines, i, exists)
            if path and end < len(lines):
                parsed.edits.append(TextEdit(path, "whole", replace="\n".join(body) + "\n"))
                last_path = path
            elif end < len(lines) and fence.group(2).lower() in _CODE_LANGUAGES and any(map(_DEFINES.match, body)):
                # No file name: a definition the model rewrote; placed by its name when applied.
                parsed.edits.append(TextEdit("", "snippet", replace="\n".join(body) + "\n",
                                             previous_path=_CODE_LANGUAGES[fence.group(2).lower()]))
            i = end + 1
            continue
        i += 1
    return parsed


def _read_block(lines: list[str], start: int, path: str | None, parsed: ParsedEdits,
                previous: str | None = None) -> int:
    """One SEARCH/REPLACE block from its SEARCH line; the index after it."""
    i = start + 1
    search: list[str] = []
    while i < len(lines) and not (_DIVIDER.match(lines[i]) or _REPLACE.match(lines[i]) or _SEARCH.match(lines[i])):
        search.append(lines[i])
        i += 1
    if i >= len(lines) or not _DIVIDER.match(lines[i]):
        parsed.problems.append(_problem(path, "a SEARCH part with no ======= line after it"))
        return i
    i += 1
    replace, i, ended = _replace_part(lines, i)
    if not ended:
        parsed.problems.append(_problem(path, "a block with no >>>>>>> REPLACE line to end it"))
        return i
    edit = TextEdit(path or "", "replace", search="\n".join(_unfenced(search)),
                    replace="\n".join(_unfenced(replace)), previous_path="" if path else previous or "")
    if not path and not edit.search.strip() and edit.previous_path:
        edit = TextEdit(edit.previous_path, "replace", replace=edit.replace)
    elif not path and not edit.search.strip():
        parsed.problems.append("a SEARCH/REPLACE block with an empty SEARCH and no file name on the line above it")
    else:
        parsed.edits.append(edit)  # no path: the file holding the SEARCH text is looked up when applied
    return i


def _replace_part(lines: list[str], i: int) -> tuple[list[str], int, bool]:
    """The REPLACE lines from index i: (lines, index after the block, whether it ended properly)."""
    first = next((j for j in range(i, len(lines)) if lines[j].strip()), None)
    fence = _FENCE.match(lines[first]) if first is not None else None
    if fence and first is not None:  # a fenced part ends at its fence, with or without >>>>>>> REPLACE
        end = _closing_fence(lines, first, fence.group(1))
        if end >= len(lines):
            return [], end, False
        after = next((j for j in range(end + 1, len(lines)) if lines[j].strip()), None)
        skip = after + 1 if after is not None and _REPLACE.match(lines[after]) else end + 1
        return lines[first:end + 1], skip, True
    replace: list[str] = []
    while i < len(lines) and not _REPLACE.match(lines[i]):
        if _SEARCH.match(lines[i]):
            return replace, i, False
        replace.append(lines[i])
        i += 1
    return replace, i + 1, i < len(lines)


def _unfenced(part: list[str]) -> list[str]:
    """A part wrapped in its own ``` fence, without the fence."""
    body = list(part)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    if len(body) >= 2 and _FENCE.match(body[0]) and set(body[-1].strip()) <= {"`", "~"}:
        return body[1:-1]
    return body


def _problem(path: str | None, what: str) -> str:
    return f"{path}: {what}" if path else what


def _closing_fence(lines: list[str], start: int, opener: str) -> int:
    for i in range(start + 1, len(lines)):
        if lines[i].strip() == opener[0] * len(lines[i].strip()) and len(lines[i].strip()) >= len(opener):
            return i
    return len(lines)


def _label_above(lines: list[str], index: int, exists: Exists | None) -> str | None:
    """The file name on the nearest non-blank line above `index` (a fence opener's info counts too)."""
    for j in range(index - 1, max(index - 1 - _LOOKBACK, -1), -1):
        line = lines[j].strip()
        if not line:
            continue
        fence = _FENCE.match(line)
        if fence:
            found = _path_in(f"{fence.group(2)} {fence.group(3)}".strip(), exists, fence_info=True)
            if found:
                return found
            continue
        return _path_in(line, exists)
    return None


def _path_in(line: str, exists: Exists | None, fence_info: bool = False) -> str | None:
    """A repo-relative file name written on a label line, or None."""
    if fence_info:  # ```python dates.py  or  ```dates.py
        words = line.split()
        candidates = words[1:] + words[:1] if len(words) > 1 else words
        return next((w for w in candidates if _looks_like_path(w, exists)), None)
    label = line.strip().lstrip("#>*-+ ").rstrip(":").strip().strip("*").strip()
    label = _LABEL_PREFIX.sub("", label).strip().strip("`'\"*").rstrip(":")
    if _looks_like_path(label, exists):
        return _clean(label)
    ticked = [t for t in _BACKTICKED.findall(line) if _looks_like_path(t, exists)]
    if ticked:
        return _clean(ticked[-1])
    # A file named inside a backticked command (`python make_report.py`) is run, not written.
    words = [w.strip("`'\"*,;:()[]") for w in _COMMAND.sub(" ", line).split()]
    named = [w for w in words if _looks_like_path(w, exists)]
    return _clean(named[-1]) if named else None


def _looks_like_path(word: str, exists: Exists | None) -> bool:
    word = _clean(word)
    if not word or len(word) > 300:
        return False
    if exists is not None and exists(word):
        return True
    return bool(_PATHLIKE.match(word)) and not word.startswith(("http:", "https:"))


def _clean(word: str) -> str:
    word = word.strip().strip("`'\"*")
    return word[2:] if word.startswith("./") else word
