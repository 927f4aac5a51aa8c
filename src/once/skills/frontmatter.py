"""A parser for the small YAML subset that SKILL.md frontmatter uses. Pure functions.

Supported: `key: value` plain scalars (continued on more-indented lines), 'single' and
"double" quoted strings, `|` and `>` block scalars (with `-`/`+` chomping and an indent
digit), lists as `- item` lines or `[a, b]`, nested mappings, and `#` comments.

Values stay strings: no type guessing, so `version: 1.0` or `enabled: yes` keep their
text; an empty value (`key:`) is None. Two deliberate leniencies over strict YAML:
a plain value may contain ": " (`description: Use when: tests fail`), and CRLF or a
byte-order mark are accepted.
"""

from __future__ import annotations

import re
from typing import Any

Line = tuple[int, str]  # (1-based line number in the file, text)

_KEY = re.compile(r"([A-Za-z0-9_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]+(.*))?")
_BLOCK_HEADER = re.compile(r"([|>])([+-]?)([1-9]?)([+-]?)[ \t]*(?:#.*)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "/": "/", " ": " ",
            "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_FENCE = re.compile(r"---[ \t]*")
_END = re.compile(r"(?:---|\.\.\.)[ \t]*")


class FrontmatterError(ValueError):
    """The frontmatter is not in the supported subset; the message names the line."""


def normalize_newlines(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def split_frontmatter(text: str) -> tuple[list[Line], str] | None:
    """(the frontmatter lines, the body after it), or None when the text has none.

    Raises FrontmatterError when the opening `---` is never closed.
    """
    lines = normalize_newlines(text).split("\n")
    if not lines or not _FENCE.fullmatch(lines[0]):
        return None
    for index in range(1, len(lines)):
        if _END.fullmatch(lines[index]):
            block = [(number, lines[number - 1]) for number in range(2, index + 1)]
            return block, "\n".join(lines[index + 1:]).strip("\n")
    raise FrontmatterError("the frontmatter is not closed with a '---' line")


def parse_frontmatter(text: str) -> tuple[dict[str, Any], str] | None:
    """(the frontmatter as a dict, the body), or None when there is no frontmatter."""
    split = split_frontmatter(text)
    if split is None:
        return None
    block, body = split
    return parse_mapping(block), body


def parse_mapping(lines: list[Line]) -> dict[str, Any]:
    """A block of `key: value` lines at column 0 (children indented) as a dict."""
    result: dict[str, Any] = {}
    index = 0
    while index < len(lines):
        number, text = lines[index]
        if _blank_or_comment(text):
            index += 1
            continue
        if text[0] in " \t":
            raise _error(number, "unexpected indentation")
        match = _KEY.fullmatch(text.rstrip())
        if match is None:
            raise _error(number, "expected 'key: value'")
        key, rest = match.group(1), _drop_comment_only(match.group(2) or "")
        if key in result:
            raise _error(number, f"duplicate key '{key}'")
        end = index + 1
        # `key:` alone may be followed by a list whose dashes sit at column 0.
        while end < len(lines) and _is_child(lines[end][1], dashes=not rest):
            end += 1
        result[key] = _value(number, rest, lines[index + 1:end])
        index = end
    return result


def _value(number: int, rest: str, children: list[Line]) -> Any:
    if rest[:1] in ("|", ">"):
        return _block_scalar(number, rest, children)
    if rest[:1] in ("'", '"'):
        return _quoted(number, _fold([rest] + [text.strip() for _, text in children]))
    if rest.startswith("["):
        return _flow_list(number, _fold([rest] + [text.strip() for _, text in children]))
    if rest.startswith("{"):
        raise _error(number, "flow mappings {...} are not supported; use indented 'key: value' lines")
    if rest:
        more = [text.strip() for _, text in children if not text.strip().startswith("#")]
        return _fold([_strip_comment(rest)] + [_strip_comment(piece) for piece in more])
    block = _dedent(children)
    first = next((text for _, text in block if not _blank_or_comment(text)), None)
    if first is None:
        return None
    return _list(block) if _is_dash(first) else parse_mapping(block)


def _list(lines: list[Line]) -> list[Any]:
    """`- item` lines at column 0; an item's more-indented lines belong to it."""
    items: list[Any] = []
    index = 0
    while index < len(lines):
        number, text = lines[index]
        if _blank_or_comment(text):
            index += 1
            continue
        if not _is_dash(text):
            raise _error(number, "expected a '- item' line in this list")
        end = index + 1
        while end < len(lines) and _is_child(lines[end][1], dashes=False):
            end += 1
        rest = _drop_comment_only(text[1:].strip())
        if rest.startswith("- ") or rest == "-":
            raise _error(number, "nested lists are not supported")
        if _KEY.fullmatch(rest) and rest[:1] not in ("'", '"'):
            # "- key: value" starts a mapping item: re-indent the dash away and parse it.
            items.append(parse_mapping(_dedent([(number, " " + text[1:])] + lines[index + 1:end])))
        else:
            items.append(_value(number, rest, lines[index + 1:end]))
        index = end
    return items


def _block_scalar(number: int, header: str, children: list[Line]) -> str:
    match = _BLOCK_HEADER.fullmatch(header)
    if match is None or (match.group(2) and match.group(4)):
        raise _error(number, f"bad block scalar header '{header}'")
    style, chomp, digit = match.group(1), match.group(2) or match.group(4), match.group(3)
    indent = int(digit) if digit else _first_indent(children)
    content: list[str] = []
    for line_number, text in children:
        if not text.strip():
            content.append("")
            continue
        if _indent_of(line_number, text) < indent:
            raise _error(line_number, "less indented than the first line of the block")
        content.append(text[indent:])
    trailing = 0
    while content and not content[-1]:
        content.pop()
        trailing += 1
    if not content:
        return ""
    text = "\n".join(content) if style == "|" else _fold_block(content)
    if chomp == "-":
        return text
    return text + "\n" + ("\n" * trailing if chomp == "+" else "")


def _fold_block(lines: list[str]) -> str:
    """YAML folding for `>`: lines of a paragraph join with a space, blank lines become
    newlines, and more-indented lines keep their line breaks."""
    out: list[str] = []
    previous: str | None = None
    blanks = 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        kind = "more" if line[0] in " \t" else "text"
        if previous is None:
            out.append("\n" * blanks)
        elif previous == "text" and kind == "text":
            out.append("\n" * blanks if blanks else " ")
        else:
            out.append("\n" * (blanks + 1))
        out.append(line)
        previous, blanks = kind, 0
    return "".join(out)


def _fold(pieces: list[str]) -> str:
    """Flow folding for plain and quoted values: lines join with a space, a blank line is a newline."""
    out = ""
    blanks = 0
    for piece in pieces:
        if not piece:
            blanks += 1
            continue
        if out:
            out += "\n" * blanks if blanks else " "
        out += piece
        blanks = 0
    return out


def _quoted(number: int, text: str) -> str:
    quote, chars, index = text[0], [], 1
    while index < len(text):
        char = text[index]
        if char == quote:
            if quote == "'" and text[index + 1:index + 2] == "'":
                chars.append("'")
                index += 2
                continue
            tail = text[index + 1:].strip()
            if tail and not tail.startswith("#"):
                raise _error(number, "unexpected text after the closing quote")
            return "".join(chars)
        if char == "\\" and quote == '"':
            escaped, index = _escape(number, text, index + 1)
            chars.append(escaped)
            continue
        chars.append(char)
        index += 1
    raise _error(number, "unterminated quoted string")


def _escape(number: int, text: str, index: int) -> tuple[str, int]:
    """The character of the escape starting at text[index] (after the backslash), and the next index."""
    code = text[index:index + 1]
    if code in _ESCAPES:
        return _ESCAPES[code], index + 1
    width = _HEX_ESCAPES.get(code)
    digits = text[index + 1:index + 1 + width] if width else ""
    if width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
        return chr(int(digits, 16)), index + 1 + width
    raise _error(number, f"unknown escape '\\{code}' in a double-quoted string")


def _flow_list(number: int, text: str) -> list[str]:
    items: list[str] = []
    current, quote, index = "", "", 1
    while index < len(text):
        char = text[index]
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote, current = char, current + char
        elif char in "[{":
            raise _error(number, "nested collections in [...] are not supported")
        elif char in ",]":
            item = current.strip()
            if item:
                items.append(_quoted(number, item) if item[0] in ("'", '"') else item)
            elif char == ",":
                raise _error(number, "empty item in [...]")
            current = ""
            if char == "]":
                tail = text[index + 1:].strip()
                if tail and not tail.startswith("#"):
                    raise _error(number, "unexpected text after ']'")
                return items
        else:
            current += char
        index += 1
    raise _error(number, "unterminated list: missing ']'")


def _strip_comment(text: str) -> str:
    """A plain value without its trailing ` # comment`."""
    if text.startswith("#"):
        return ""
    match = re.search(r"[ \t]#", text)
    return (text[:match.start()] if match else text).rstrip()


def _drop_comment_only(rest: str) -> str:
    rest = rest.strip()
    return "" if rest.startswith("#") else rest


def _dedent(lines: list[Line]) -> list[Line]:
    indents = [_indent_of(number, text) for number, text in lines if text.strip()]
    cut = min(indents, default=0)
    return [(number, text[cut:] if text.strip() else "") for number, text in lines]


def _first_indent(lines: list[Line]) -> int:
    return next((_indent_of(number, text) for number, text in lines if text.strip()), 0)


def _indent_of(number: int, text: str) -> int:
    stripped = text.lstrip(" ")
    if stripped.startswith("\t"):
        raise _error(number, "tabs are not allowed for indentation")
    return len(text) - len(stripped)


def _is_child(text: str, *, dashes: bool) -> bool:
    return not text.strip() or text[0] in " \t" or (dashes and _is_dash(text))


def _is_dash(text: str) -> bool:
    return text == "-" or text.startswith(("- ", "-\t"))


def _blank_or_comment(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


def _error(number: int, message: str) -> FrontmatterError:
    return FrontmatterError(f"line {number}: {message}")
