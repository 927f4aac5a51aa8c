"""What a prompt points at: identifiers, file names, dotted modules, stack-trace paths (pure).

These are the strong hints that plain BM25 weighs like any other word: a traceback
line names the file outright, `parse_args` names a definition.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from once.lazyre import LazyPattern
from once.index.symbols import LANGUAGES, NAMES
from once.index.tokens import STOPWORDS

_EXTS = "|".join(sorted((ext[1:] for ext in LANGUAGES), key=len, reverse=True))
_PY_FRAME = LazyPattern(r'File "([^"\n]+)", line (\d+)')
_JS_FRAME = LazyPattern(r"\bat (?:[^\s()]+ )?\(?(?:file://)?([^\s():]+\.\w+):(\d+)(?::\d+)?\)?")
_PATH_LINE = LazyPattern(rf"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:{_EXTS})):(\d+)\b")
_FILE = LazyPattern(rf"(?<![\w/.:-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:{_EXTS}))(?![\w/-])")
_BARE_NAMES = LazyPattern(r"(?<![\w/.-])(" + "|".join(re.escape(n) for n in NAMES) + r")(?![\w/-]|\.\w)")
_DOTTED = LazyPattern(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_IMPORT = LazyPattern(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ]+)|import\s+([\w.]+))", re.MULTILINE)
_WORDS = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL = LazyPattern(r"([A-Za-z_][\w.]*)\s*\(")
_BACKTICK = LazyPattern(r"`([^`\n]+)`")
_FENCE = LazyPattern(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_LINE = LazyPattern(r"^(?: {4}|\t|>>> |\.\.\. )(.*)$", re.MULTILINE)
_CAMEL = LazyPattern(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")
_URL = LazyPattern(r"\b[a-z]+://\S+")
T = TypeVar("T", bound=Hashable)
_IGNORED = frozenset(keyword.kwlist) | frozenset({"self", "cls", "print", "None", "True", "False"})


@dataclass
class Mentions:
    identifiers: list[str] = field(default_factory=list)
    """Code-like names, in order of appearance: `parse_args`, `UserService`, `register_hook`."""
    files: list[str] = field(default_factory=list)
    """File names or paths written in the prompt: `cli.py`, `src/app/models.py`."""
    modules: list[str] = field(default_factory=list)
    """Dotted names that may be modules: `requests.models`, `sympy.core.basic.Basic`."""
    trace: list[tuple[str, int]] = field(default_factory=list)
    """(path, line) from stack traces and `path:line` references, in order."""


def find_mentions(prompt: str) -> Mentions:
    text = _URL.sub(" ", prompt)
    found = Mentions()
    for regex in (_PY_FRAME, _JS_FRAME, _PATH_LINE):
        for match in regex.finditer(text):
            found.trace.append((match.group(1), int(match.group(2))))
    found.trace = _dedupe(found.trace)
    found.files = _dedupe(m.group(1) for regex in (_FILE, _BARE_NAMES) for m in regex.finditer(text))
    found.modules = _modules(text)
    found.identifiers = _identifiers(text)
    return found


def _modules(text: str) -> list[str]:
    names: list[str] = []
    for match in _IMPORT.finditer(text):
        if match.group(1):
            base = match.group(1)
            names.append(base)
            names.extend(f"{base}.{name.strip()}" for name in match.group(2).split(",") if name.strip())
        else:
            names.append(match.group(3))
    names.extend(m.group(1) for m in _DOTTED.finditer(text) if not _looks_like_file(m.group(1)))
    return _dedupe(name.strip(".") for name in names if "." in name.strip("."))


def _looks_like_file(name: str) -> bool:
    return f".{name.rsplit('.', 1)[-1]}" in LANGUAGES


def _identifiers(text: str) -> list[str]:
    code = [m.group(1) for m in _FENCE.finditer(text)] + [m.group(1) for m in _CODE_LINE.finditer(text)]
    code += [m.group(1) for m in _BACKTICK.finditer(text)]
    names: list[str] = []
    for snippet in code:  # everything named in code is a candidate
        names.extend(_WORDS.findall(snippet))
    names.extend(part for m in _CALL.finditer(text) for part in m.group(1).split("."))
    for word in _WORDS.findall(text):
        if "_" in word.strip("_") or _CAMEL.search(word) or (word[:1].isupper() and word.lower() not in STOPWORDS):
            names.append(word)
    return _dedupe(name for name in names if len(name) > 2 and name not in _IGNORED and not name.isdigit())


def _dedupe(items: Iterable[T]) -> list[T]:
    seen: set[T] = set()
    out: list[T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
