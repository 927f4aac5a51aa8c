"""The selected files as text for the first model call, within a character budget.

Small files go in whole. A file too big for its share is shown in parts: its head,
then the definitions of symbols the prompt names, then an outline (one line per
remaining symbol) so the model knows where to read further. Lines are numbered as
`read_file` numbers them, so the model can page on from what it saw.
"""

from __future__ import annotations

import re
from pathlib import Path

from once.index.symbols import Symbol, extract
from once.safety.paths import PathRefused, confine
from once.tools.read import decode_text, number_line, split_lines

_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEAD_LINES = 30
MIN_SHARE = 400  # below this a file only gets its header line


def render_selected(repo_root: Path, files: list[str], budget_chars: int, prompt: str = "") -> str:
    """`files` (repo-relative, best first) as `<file>` blocks totalling at most `budget_chars`."""
    files = list(dict.fromkeys(files))
    texts = {path: _read(Path(repo_root), path) for path in files}
    sizes = {path: len(_whole(path, text)) if text is not None else len(_skipped(path, None))
             for path, text in texts.items()}
    shares = _shares(sizes, budget_chars)
    wanted = set(_WORDS.findall(prompt))  # a symbol named in the prompt, in code or in prose
    blocks = []
    for path in files:
        text, share = texts[path], shares[path]
        if text is not None and sizes[path] <= share:
            block = _whole(path, text)
        elif text is not None and share >= MIN_SHARE:
            block = _excerpt(path, text, share, wanted)
        else:
            block = _skipped(path, text)
        blocks.append(block)
    # Shares are estimates (an excerpt's outline, a header); the budget itself is a hard limit.
    while blocks and sum(len(b) + 1 for b in blocks) - 1 > budget_chars:
        blocks.pop()
    return "\n".join(blocks)


def _read(root: Path, rel: str) -> str | None:
    """The text of a file inside the repository; None when unreadable, binary or outside it."""
    try:
        absolute, _ = confine(root, rel)
        return decode_text(absolute.read_bytes())
    except (OSError, PathRefused):
        return None


def _shares(sizes: dict[str, int], budget: int) -> dict[str, int]:
    """Fair shares: smallest first, each gets its size or an even split of what is left."""
    shares: dict[str, int] = {}
    left, count = max(budget, 0), len(sizes)
    for path in sorted(sizes, key=lambda p: sizes[p]):
        share = min(sizes[path], left // count)
        shares[path] = share
        left -= share
        count -= 1
    return shares


def _numbered(lines: list[str], start: int, end: int) -> list[str]:
    return [number_line(number, lines[number - 1], 400) for number in range(start, min(end, len(lines)) + 1)]


def _whole(path: str, text: str) -> str:
    lines = split_lines(text)
    body = "\n".join(_numbered(lines, 1, len(lines)))
    return f'<file path="{path}" lines="1-{len(lines)}">\n{body}\n</file>'


def _skipped(path: str, text: str | None) -> str:
    why = "not a readable text file in the repository" if text is None else "over the context budget"
    return f'<file path="{path}" omitted="{why}"/>'


def _excerpt(path: str, text: str, share: int, wanted: set[str]) -> str:
    lines = split_lines(text)
    symbols = extract(path, text.encode("utf-8")).symbols
    opening = f'<file path="{path}" lines="{len(lines)}" excerpt="head, named definitions, outline">'
    closing = "</file>"
    room = share - len(opening) - len(closing) - 1  # every part below costs its length + a newline
    parts: list[str] = []
    used: set[int] = set()

    def add(chunk: list[str], numbers: range) -> bool:
        nonlocal room
        part = "\n".join(chunk)
        if len(part) + 1 > room:
            return False
        parts.append(part)
        used.update(numbers)
        room -= len(part) + 1
        return True

    head = HEAD_LINES
    while head > 0 and not add(_numbered(lines, 1, head), range(1, head + 1)):
        head //= 2
    for symbol in _named(symbols, wanted):
        span = range(symbol.line, symbol.end_line + 1)
        if not used.issuperset(span):
            add(["   ..."] + _numbered(lines, symbol.line, symbol.end_line), span)
    outline = [_outline(symbol, lines) for symbol in symbols if symbol.line not in used]
    if outline:
        add(_fit_outline(outline, room), range(0))
    return "\n".join([opening, *parts, closing])


def _fit_outline(entries: list[str], room: int) -> list[str]:
    """As many outline lines as fit in `room`, then how many were left out."""
    shown = ["   ... outline (line: definition):"]
    used = len(shown[0]) + 1
    for number, entry in enumerate(entries):
        more = f"   ... {len(entries) - number} more definitions"
        if used + len(entry) + 1 + len(more) + 1 > room:
            shown.append(more)
            break
        shown.append(entry)
        used += len(entry) + 1
    return shown


def _named(symbols: list[Symbol], wanted: set[str]) -> list[Symbol]:
    if not wanted:
        return []
    return [s for s in symbols if s.name in wanted or s.name.rsplit(".", 1)[-1] in wanted]


def _outline(symbol: Symbol, lines: list[str]) -> str:
    first = lines[symbol.line - 1].strip() if symbol.line <= len(lines) else symbol.name
    return number_line(symbol.line, first[:160])


def render_plain(repo_root: Path, files: list[str], budget_chars: int) -> tuple[str, list[str]]:
    """Whole files as `path` then a fenced block, best first, within the budget; and the files left out.

    The form small models copy when they write edits as text: no line numbers to strip.
    """
    blocks: list[str] = []
    left_out: list[str] = []
    used = 0
    for path in dict.fromkeys(files):
        text = _read(Path(repo_root), path)
        if text is None:
            continue
        fence = "````" if "```" in text else "```"
        block = f"{path}\n{fence}\n{text.rstrip(chr(10))}\n{fence}"
        if used + len(block) + 2 > budget_chars:
            left_out.append(path)
            continue
        blocks.append(block)
        used += len(block) + 2
    return "\n\n".join(blocks), left_out
