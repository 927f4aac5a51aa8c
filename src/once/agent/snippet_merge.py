"""Merging a code block that holds only some definitions of a file into that file.

Small models answer "add is_leap to dates.py" or "fix median" with the function alone, as if
it were the whole file. Each top-level definition in the block replaces the one of the same
name in the file, or is added at the end; imports the file lacks go on top. Anything else in
the block (a statement, a call) makes it not a definitions-only block, and nothing is merged.
Pure: text in, text out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from once.index.symbols import Symbol, extract

_TOP_KINDS = frozenset({"function", "class"})
_IMPORT = re.compile(r"^(import\s|from\s+\S+\s+import\s|const\s+\w+\s*=\s*require\(|import\s*\{)")
_IGNORABLE = re.compile(r"^\s*(#.*|//.*)?$")
MIN_RENAMED_BODY = 2
"""Lines a body needs before the same body under a new name counts as a rename (`return 0` is no evidence)."""


@dataclass(frozen=True)
class Merge:
    text: str
    replaced: list[str]
    added: list[str]
    renamed: list[tuple[str, str]] = field(default_factory=list)
    """(old, new): a definition the block holds under a new name with the same body, in its place."""


def _module_docstring(lines: list[str]) -> set[int]:
    """Line numbers of a leading module docstring (the file's own stays as it is)."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].lstrip().startswith(('"""', "'''")):
        return set()
    quote = lines[first].lstrip()[:3]
    if lines[first].count(quote) >= 2:
        return {first + 1}
    end = next((i for i in range(first + 1, len(lines)) if quote in lines[i]), None)
    return set(range(first + 1, end + 2)) if end is not None else set()


def top_definitions(path: str, text: str) -> list[Symbol]:
    symbols = extract(path, text.encode("utf-8")).symbols
    return [s for s in symbols if s.kind in _TOP_KINDS and "." not in s.name]


def merge_definitions(path: str, old: str, snippet: str) -> Merge | None:
    """`old` with the snippet's definitions merged in, or None when the snippet is not definitions only."""
    new_defs = top_definitions(path, snippet)
    if not new_defs:
        return None
    lines = snippet.splitlines()
    covered = {n for s in new_defs for n in range(s.line, s.end_line + 1)} | _module_docstring(lines)
    imports = []
    for number, line in enumerate(lines, 1):
        if number in covered or _IGNORABLE.match(line):
            continue
        if _IMPORT.match(line):
            imports.append(line)
            continue
        return None  # a statement outside any definition: not ours to place
    old_lines = old.splitlines()
    by_name = {s.name: s for s in top_definitions(path, old)}
    renames = _renames(new_defs, lines, by_name, old_lines)
    replaced: list[str] = []
    added: list[str] = []
    appended: list[list[str]] = []
    spans = []
    for symbol in new_defs:
        body = lines[symbol.line - 1:symbol.end_line]
        target = by_name.get(renames.get(symbol.name, symbol.name))
        if target is None:
            added.append(symbol.name)
            appended.append(body)
        else:
            if symbol.name not in renames:
                replaced.append(symbol.name)
            spans.append((target.line, target.end_line, body))
    for first, last, body in sorted(spans, reverse=True):
        old_lines[first - 1:last] = body
    missing = [line for line in imports if line not in old_lines]
    after = max(_module_docstring(old_lines), default=0)  # imports go below the file's docstring
    merged = "\n".join([*old_lines[:after], *missing, *old_lines[after:]]).rstrip("\n") + "\n"
    if appended:
        gap = "\n\n\n" if path.endswith(".py") else "\n\n"  # PEP 8's two blank lines between definitions
        merged = merged.rstrip("\n") + gap + gap.join("\n".join(body) for body in appended) + "\n"
    return Merge(merged, replaced, added, [(old, new) for new, old in renames.items()])


def _renames(new_defs: list[Symbol], lines: list[str], old_defs: dict[str, Symbol],
             old_lines: list[str]) -> dict[str, str]:
    """{new name: old name} for a new definition whose body is, line for line, that of a definition
    the block leaves out: a rename, which replaces the old one where it stood."""
    new_names = {s.name for s in new_defs}

    def body(symbol: Symbol, text: list[str]) -> list[str]:
        return [line.strip() for line in text[symbol.line:symbol.end_line] if line.strip()]

    dropped = {name: body(s, old_lines) for name, s in old_defs.items() if name not in new_names}
    renames: dict[str, str] = {}
    for symbol in new_defs:
        if symbol.name in old_defs:
            continue
        mine = body(symbol, lines)
        if len(mine) < MIN_RENAMED_BODY:
            continue
        same = [name for name, theirs in dropped.items() if theirs == mine and name not in renames.values()]
        if len(same) == 1:
            renames[symbol.name] = same[0]
    return renames
