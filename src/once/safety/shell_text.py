"""Character-level helpers of the shell parser: blanks, comments, `$'...'` strings."""

from __future__ import annotations

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
                   "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_HEX = "0123456789abcdefABCDEF"


class ShellSyntaxError(ValueError):
    """The text is not a shell command this parser can follow."""


def skip_blank(s: str, i: int) -> int:
    """Skip spaces, tabs, line continuations and a `# comment` (up to, not over, its newline)."""
    while i < len(s):
        if s[i] in " \t\r":
            i += 1
        elif s.startswith("\\\n", i):
            i += 2
        elif s[i] == "#":
            newline = s.find("\n", i)
            i = len(s) if newline < 0 else newline
        else:
            break
    return i


def _digits(s: str, i: int, allowed: str, most: int) -> int:
    end = i
    while end < len(s) and end - i < most and s[end] in allowed:
        end += 1
    return end


def ansi_c(s: str, i: int) -> tuple[str, int]:
    """Decode `$'...'` from just inside the quote: ($'\\x72m' is `rm`). Returns (text, end)."""
    out: list[str] = []
    while i < len(s):
        char = s[i]
        if char == "'":
            return "".join(out), i + 1
        if char != "\\" or i + 1 >= len(s):
            out.append(char)
            i += 1
            continue
        code = s[i + 1]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            i += 2
        elif code in "xuU":
            end = _digits(s, i + 2, _HEX, {"x": 2, "u": 4, "U": 8}[code])
            out.append(chr(min(int(s[i + 2:end], 16), 0x10FFFF)) if end > i + 2 else "\\" + code)
            i = end
        elif code in "01234567":
            end = _digits(s, i + 1, "01234567", 3)
            out.append(chr(int(s[i + 1:end], 8) & 0xFF))
            i = end
        elif code == "c" and i + 2 < len(s):
            out.append(chr(ord(s[i + 2]) & 0x1F))
            i += 3
        else:
            out.append("\\" + code)
            i += 2
    raise ShellSyntaxError("unbalanced $'")
