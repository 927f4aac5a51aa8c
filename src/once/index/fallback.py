"""Symbols by line patterns, for languages without a tree-sitter grammar here.

Patterns match definitions that start a line (after indentation and modifiers), so
calls and comments rarely count. A symbol's end is taken as the line before the next
symbol: good enough to show a definition in context.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from once.index.symbols import FileSummary, Symbol

_MODS = r"(?:(?:pub(?:\([^)]*\))?|public|private|protected|internal|static|final|abstract|sealed|open|" \
        r"override|virtual|async|unsafe|extern|inline|export|default|const|data|case|suspend|partial)\s+)*"

# language -> [(pattern with one group: the name, kind)]
_PATTERNS: dict[str, list[tuple[str, str]]] = {
    "go": [
        (r"^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)", "function"),
        (r"^type\s+([A-Za-z_]\w*)\s+(?:struct|interface)", "class"),
        (r"^type\s+([A-Za-z_]\w*)\b", "type"),
        (r"^(?:var|const)\s+([A-Za-z_]\w*)", "variable"),
    ],
    "rust": [
        (rf"^\s*{_MODS}fn\s+([A-Za-z_]\w*)", "function"),
        (rf"^\s*{_MODS}(?:struct|enum|union|trait)\s+([A-Za-z_]\w*)", "class"),
        (rf"^\s*{_MODS}(?:type|const|static)\s+([A-Za-z_]\w*)", "type"),
        (rf"^\s*{_MODS}mod\s+([A-Za-z_]\w*)", "module"),
        (r"^\s*impl(?:<[^>]*>)?\s+(?:[\w:<>, ]+\s+for\s+)?([A-Za-z_]\w*)", "impl"),
        (r"^\s*macro_rules!\s+([A-Za-z_]\w*)", "macro"),
    ],
    "java": [
        (rf"^\s*{_MODS}(?:class|interface|enum|record|@interface)\s+([A-Za-z_]\w*)", "class"),
        (rf"^\s+{_MODS}(?:<[^>]+>\s+)?[\w.<>\[\], ?]+\s+([a-z_]\w*)\s*\([^;]*$", "method"),
    ],
    "c": [
        (r"^(?:struct|union|enum)\s+([A-Za-z_]\w*)\s*\{", "class"),
        (r"^typedef\s+.*?\b([A-Za-z_]\w*)\s*;", "type"),
        (r"^#define\s+([A-Za-z_]\w*)", "macro"),
        (r"^(?!(?:if|for|while|switch|return|else)\b)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;]*$", "function"),
    ],
    "cpp": [
        (r"^\s*(?:template\s*<[^>]*>\s*)?(?:class|struct|union|enum(?:\s+class)?)\s+([A-Za-z_]\w*)[^;]*$", "class"),
        (r"^namespace\s+([A-Za-z_]\w*)", "module"),
        (r"^#define\s+([A-Za-z_]\w*)", "macro"),
        (r"^(?!(?:if|for|while|switch|return|else)\b)[A-Za-z_][\w \t\*&:<>,]*?\b([A-Za-z_~][\w:]*)\s*\([^;]*$",
         "function"),
    ],
    "ruby": [
        (r"^\s*(?:class|module)\s+([A-Z][\w:]*)", "class"),
        (r"^\s*def\s+((?:self\.)?[A-Za-z_]\w*[?!=]?)", "function"),
    ],
    "php": [
        (r"^\s*(?:abstract\s+|final\s+)?(?:class|interface|trait|enum)\s+([A-Za-z_]\w*)", "class"),
        (r"^\s*(?:(?:public|private|protected|static|abstract|final)\s+)*function\s+&?([A-Za-z_]\w*)", "function"),
    ],
    "shell": [
        (r"^\s*function\s+([A-Za-z_][\w:-]*)", "function"),
        (r"^\s*([A-Za-z_][\w:-]*)\s*\(\)\s*\{?", "function"),
    ],
    "markdown": [(r"^#{1,3}\s+(.+?)\s*#*\s*$", "heading")],
    "toml": [(r"^\[+\s*([^\]]+?)\s*\]+", "section")],
    "ini": [(r"^\[\s*([^\]]+?)\s*\]", "section")],
    "make": [(r"^([A-Za-z_][\w.-]*)\s*:(?!=)", "target")],
    "sql": [(r"(?i)^\s*create\s+(?:or\s+replace\s+)?(?:table|view|function|procedure|index)\s+"
             r"(?:if\s+not\s+exists\s+)?([\w.\"]+)", "table")],
    "protobuf": [(r"^\s*(?:message|service|enum)\s+([A-Za-z_]\w*)", "class"),
                 (r"^\s*rpc\s+([A-Za-z_]\w*)", "function")],
    "generic": [
        (r"^\s*(?:export\s+|public\s+|private\s+)*(?:def|defp|defmodule|function|func|fn|fun|sub|proc|"
         r"class|struct|interface|trait|module|object|protocol|extension)\s+([A-Za-z_][\w.:!?]*)", "function"),
    ],
}
_ALIASES = {"kotlin": "java", "scala": "java", "csharp": "java", "dart": "java", "swift": "generic",
            "objc": "c", "perl": "generic", "lua": "generic", "elixir": "generic", "julia": "generic",
            "r": "generic", "haskell": "generic", "ocaml": "generic", "clojure": "generic",
            "python": "generic", "javascript": "generic", "typescript": "generic", "tsx": "generic",
            "vue": "generic", "svelte": "generic"}
_COMMENT = re.compile(r"^\s*(?:#|//|--|;|%|/\*+|\*(?!/)|\(\*)")
_NEWLINE = re.compile("\n")
_PROSE = frozenset({"markdown", "rst", "text"})


@lru_cache(maxsize=None)
def _compiled(language: str) -> list[tuple[re.Pattern[str], str]]:
    key = _ALIASES.get(language, language)
    return [(re.compile(pattern, re.MULTILINE), kind) for pattern, kind in _PATTERNS.get(key, [])]


def extract_regex(language: str, text: str) -> FileSummary:
    starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]
    found: dict[int, tuple[int, str, str]] = {}  # first match per line wins (pattern order = priority)
    for regex, kind in _compiled(language):
        for match in regex.finditer(text):
            line = bisect.bisect_right(starts, match.start())
            found.setdefault(line, (match.start(), match.group(1).strip(), kind))
    lines = sorted(found)
    last = len(starts)
    symbols = [Symbol(found[line][1], found[line][2], line, (lines[i + 1] - 1) if i + 1 < len(lines) else last)
               for i, line in enumerate(lines)]
    return FileSummary(language, symbols, _leading_doc(language, text))


def _leading_doc(language: str, text: str) -> str:
    """The comment block that opens the file; for prose, its first paragraph."""
    lines = text.splitlines()[:60]
    if lines and lines[0].startswith("#!"):
        lines = lines[1:]
    out: list[str] = []
    prose_seen = False
    for line in lines:
        if language in _PROSE:  # the title and the first paragraph after it
            if not line.strip():
                if prose_seen:
                    break
                continue
            prose_seen = prose_seen or not line.lstrip().startswith(("#", "=", "-", "*", ".."))
            out.append(line.strip().strip("#=-*").strip())
        elif _COMMENT.match(line):
            stripped = _COMMENT.sub("", line).strip().removesuffix("*/").removesuffix("*)").strip()
            out.append(stripped)
        elif line.strip() or out:
            break
    return " ".join(part for part in out if part)
