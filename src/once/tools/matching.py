"""The pure part of `edit_file`: find `old` in a text and replace it with `new`.

Order of attempts:
1. exact: `old` must occur once (or `replace_all`); the result is `text.replace(old, new)`.
2. whitespace-tolerant: compare whole lines with leading/trailing whitespace ignored;
   if exactly one region matches, replace it, re-indenting `new` by the difference
   between the indentation the model wrote and the file's.
3. otherwise an error with a "did you mean" excerpt: the window of lines most similar
   to `old` (difflib), numbered like `read_file`, so the model can correct itself.

Line numbers in a success are where each replacement starts in the new text; in an
error they refer to the text as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Beyond these sizes the "did you mean" search is skipped: it is a hint, not worth seconds.
_MAX_SUGGEST_WINDOWS = 50_000
_MAX_SUGGEST_CHARS = 5_000
_LINE_NUMBER_PREFIX = re.compile(r"^\s*\d+\t")


@dataclass
class EditResult:
    new_text: str | None = None
    error: str | None = None
    count: int = 0
    """Replacements made (or, in a "several matches" error, matches found)."""
    lines: list[int] = field(default_factory=list)
    fuzzy: bool = False
    """True when the match ignored whitespace differences."""

    @property
    def ok(self) -> bool:
        return self.new_text is not None


def apply_edit(text: str, old: str, new: str, replace_all: bool = False) -> EditResult:
    """Replace `old` with `new` in `text`, or explain why not (see the module doc)."""
    if old == "":
        return EditResult(error="old_string is empty. Give the exact text to replace (to insert, include a "
                                "neighbouring line in both old_string and new_string; to create a file, use write_file).")
    if old == new:
        return EditResult(error="old_string and new_string are identical; there is nothing to change.")
    starts = find_all(text, old)
    if len(starts) > 1 and not replace_all:
        lines = line_numbers(text, starts)
        return EditResult(error=f"old_string occurs {len(starts)} times (lines {format_lines(lines)}). Include more "
                                "surrounding lines to make it unique, or set replace_all=true to replace every one.",
                          count=len(starts), lines=lines)
    if starts:
        shift = len(new) - len(old)
        new_text = text.replace(old, new)
        lines = line_numbers(new_text, [start + shift * k for k, start in enumerate(starts)])
        return EditResult(new_text=new_text, count=len(starts), lines=lines)
    return _fuzzy_edit(text, old, new) or EditResult(error=_not_found_message(text, old))


def find_all(text: str, old: str) -> list[int]:
    """Start offsets of the non-overlapping occurrences `str.replace` would replace."""
    starts: list[int] = []
    position = text.find(old)
    while position != -1:
        starts.append(position)
        position = text.find(old, position + len(old))
    return starts


def line_numbers(text: str, offsets: list[int]) -> list[int]:
    """1-based line numbers of sorted character offsets."""
    numbers: list[int] = []
    line, scanned = 1, 0
    for offset in offsets:
        line += text.count("\n", scanned, offset)
        scanned = offset
        numbers.append(line)
    return numbers


def format_lines(lines: list[int], most: int = 20) -> str:
    shown = ", ".join(str(n) for n in lines[:most])
    return shown + (f", ... ({len(lines) - most} more)" if len(lines) > most else "")


# ---- whitespace-tolerant fallback ---------------------------------------------------


def _fuzzy_edit(text: str, old: str, new: str) -> EditResult | None:
    """Replace the one region matching `old` line by line, ignoring surrounding whitespace."""
    old_ends_line = old.endswith("\n")
    old_lines = (old[:-1] if old_ends_line else old).split("\n")
    keys = [line.strip() for line in old_lines]
    if not any(keys):
        return None  # only whitespace: nothing meaningful to anchor on
    lines = text.split("\n")
    file_keys = [line.strip() for line in lines]
    size = len(keys)
    regions = [i for i in range(len(lines) - size + 1) if file_keys[i:i + size] == keys]
    if not regions:
        return None
    if len(regions) > 1:
        numbers = [i + 1 for i in regions]
        return EditResult(error=f"old_string was not found exactly, and ignoring whitespace it matches "
                                f"{len(regions)} places (lines {format_lines(numbers)}). Include more surrounding "
                                "lines to make it unique, copying them exactly from read_file.",
                          count=len(regions), lines=numbers)
    first = regions[0]
    anchor = next(k for k, key in enumerate(keys) if key)
    known = _indent_map(old_lines, lines[first:first + size])
    replacement = reindent(new, _indent(old_lines[anchor]), _indent(lines[first + anchor]), known)
    start = sum(len(line) + 1 for line in lines[:first])
    end = start + sum(len(line) + 1 for line in lines[first:first + size]) - 1  # end of the last line's text
    if old_ends_line:
        if end < len(text):
            end += 1  # the region's final newline goes too, as in an exact match
        elif replacement.endswith("\n"):
            replacement = replacement[:-1]  # the file has no final newline: keep it so
    new_text = text[:start] + replacement + text[end:]
    if new_text == text:
        return EditResult(error=f"old_string matches line {first + 1} only when whitespace is ignored, and after "
                                "re-indenting new_string to the file's indentation nothing would change. To change "
                                "whitespace, copy old_string exactly from read_file.")
    return EditResult(new_text=new_text, count=1, lines=[first + 1], fuzzy=True)


def _indent_map(mine: list[str], theirs: list[str]) -> dict[str, str]:
    """Indentation the model wrote -> the file's, where the matched lines agree on it."""
    seen: dict[str, set[str]] = {}
    for model_line, file_line in zip(mine, theirs):
        if model_line.strip():
            seen.setdefault(_indent(model_line), set()).add(_indent(file_line))
    return {indent: next(iter(found)) for indent, found in seen.items() if len(found) == 1}


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def reindent(new: str, old_indent: str, file_indent: str, known: dict[str, str] | None = None) -> str:
    """Shift every non-blank line of `new` from the model's indentation to the file's.

    `known` maps indentations the model wrote to the file's, learnt from the matched
    lines (so four spaces per level become tabs where the file uses tabs).
    """
    known = known or {}
    if old_indent == file_indent and all(k == v for k, v in known.items()):
        return new
    out: list[str] = []
    for line in new.split("\n"):
        indent = _indent(line)
        if not line.strip():
            out.append(line)
        elif indent in known:
            out.append(known[indent] + line[len(indent):])
        elif line.startswith(old_indent):
            out.append(file_indent + line[len(old_indent):])
        elif file_indent.startswith(old_indent):
            out.append(file_indent[len(old_indent):] + line)
        elif old_indent.startswith(file_indent):
            out.append(line.removeprefix(old_indent[len(file_indent):]))
        else:
            out.append(line)
    return "\n".join(out)


# ---- "did you mean" -------------------------------------------------------------------


def closest_region(text: str, old: str) -> tuple[int, list[str], float] | None:
    """(first line number, lines, similarity 0..1) of the window most like `old`."""
    if not text:
        return None
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    old_lines = old.rstrip("\n").split("\n")
    size = min(max(1, len(old_lines)), len(lines))
    target = "\n".join(line.strip() for line in old_lines)
    windows = len(lines) - size + 1
    if not lines or windows > _MAX_SUGGEST_WINDOWS or len(target) > _MAX_SUGGEST_CHARS:
        return None
    from difflib import SequenceMatcher  # only an edit that missed needs the closest lines

    keys = [line.strip() for line in lines]
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(target)  # difflib caches what it learns about seq2
    best, best_at = -1.0, 0
    for i in range(windows):
        matcher.set_seq1("\n".join(keys[i:i + size]))
        if matcher.real_quick_ratio() <= best or matcher.quick_ratio() <= best:
            continue
        ratio = matcher.ratio()
        if ratio > best:
            best, best_at = ratio, i
    return best_at + 1, lines[best_at:best_at + size], max(best, 0.0)


def _not_found_message(text: str, old: str) -> str:
    message = "old_string was not found in the file (not even ignoring whitespace)."
    old_lines = [line for line in old.split("\n") if line.strip()]
    if old_lines and all(_LINE_NUMBER_PREFIX.match(line) for line in old_lines):
        message += " It seems to include the line-number prefixes of read_file output; leave them out."
    if not text.strip():
        return message + " The file is empty (or only whitespace); use write_file to give it content."
    region = closest_region(text, old)
    if region is None:
        return message + " Read the file again with read_file and copy old_string exactly."
    first, lines, ratio = region
    last = first + len(lines) - 1
    where = f"line {first}" if first == last else f"lines {first}-{last}"
    excerpt = "\n".join(f"{first + k:>6}\t{line}" for k, line in enumerate(lines))
    return (f"{message} Did you mean {where} ({ratio:.0%} similar)?\n{excerpt}\n"
            "Copy old_string exactly from the file (without the line-number prefix) and try again.")
