"""Tokens and words of the shell parser: quoting, escapes, substitutions and heredocs.

The grammar (`shell_split`) subclasses `Lexer`; substitutions such as `$(...)` are parsed
by a child parser, which the subclass provides through `_child`.
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from once.safety.shell_command import SimpleCommand, Word
from once.safety.shell_text import ShellSyntaxError, ansi_c, skip_blank
from once.safety.shell_unwrap import SHELLS, Context

MAX_DEPTH = 12  # nested strings: `bash -c "eval '...'"`, substitutions
_OPS = re.compile(r"&&|\|\||;;&|;;|;&|\|&|[;&|()\n]")
_REDIR = re.compile(r"\d*(&>>|&>|>>|>\||>&|<<<|<<-|<<|<&|<>|>|<)")
_META = frozenset(" \t\r\n;&|<>()")
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


@dataclass
class Token:
    kind: str  # "word" | "op" | "redir" | "eof"
    text: str
    at: int  # where reading started (the cache key)
    end: int
    word: Word | None = None


@dataclass
class Heredoc:
    delimiter: str
    strip_tabs: bool
    quoted: bool  # `<<'EOF'`: no expansion in the body
    owner: SimpleCommand | None = None
    to_shell: bool = False  # the owner's output is piped into a shell: `cat <<EOF | sh`


class Lexer(ABC):
    """Reads tokens from one string, keeping one token of lookahead.

    Abstract: the grammar (`parse_all`, `parse_list`, `_child`) is the parser's, in
    shell_split.py; the lexer calls it for nested strings (bash -c, $(...), heredocs).
    """

    def __init__(self, text: str, pos: int = 0, depth: int = 0, counter: itertools.count[int] | None = None,
                 ctx: Context | None = None) -> None:
        if depth > MAX_DEPTH:
            raise ShellSyntaxError("nested too deeply to check")
        self.s, self.i, self.depth = text, pos, depth
        self.counter = counter or itertools.count(1)
        self.ctx = ctx or Context()
        self.nesting = 0
        self._peeked: Token | None = None
        self._pending: list[Heredoc] = []
        self._heredoc_parts: list[SimpleCommand] = []

    @abstractmethod
    def _child(self, text: str, pos: int, ctx: Context) -> Lexer:
        """A parser for a nested string (or the rest of this one, from `pos`)."""

    @abstractmethod
    def parse_list(self, stop_ops: frozenset[str], stop_words: frozenset[str] = frozenset()) -> list[SimpleCommand]:
        """Simple commands up to one of `stop_ops` / `stop_words`."""

    @abstractmethod
    def parse_all(self) -> list[SimpleCommand]:
        """Every simple command of the whole string."""

    # ------------------------------------------------------------ tokens

    def _peek(self) -> Token:
        if self._peeked is None or self._peeked.at != self.i:
            self._peeked = self._token_at(self.i)
        return self._peeked

    def _consume(self) -> Token:
        token = self._peek()
        self.i, self._peeked = token.end, None
        if token.kind == "op" and token.text == "\n" and self._pending:
            self._read_heredocs()
        return token

    def _token_at(self, at: int) -> Token:
        s, i = self.s, skip_blank(self.s, at)
        if i >= len(s):
            return Token("eof", "", at, i)
        if not s.startswith(("<(", ">("), i):
            match = _REDIR.match(s, i) or _OPS.match(s, i)
            if match:
                return Token("redir" if match.re is _REDIR else "op", match.group(0), at, match.end())
        word, end = self._word_at(i)
        return Token("word", word.value, at, end, word)

    def _is_op(self, token: Token, *texts: str) -> bool:
        return token.kind == "op" and token.text in texts

    def _is_word(self, token: Token, words: frozenset[str] | set[str]) -> bool:
        return token.kind == "word" and token.word is not None and not token.word.quoted and token.text in words

    def _skip_newlines(self) -> None:
        while self._is_op(self._peek(), "\n"):
            self._consume()

    # ------------------------------------------------------------ words

    def _word_at(self, i: int) -> tuple[Word, int]:
        s = self.s
        if s.startswith(("<(", ">("), i):  # process substitution: a command whose output is a file
            parts, end = self._substitution(i + 2)
            return Word(s[i:end], tuple(parts)), end
        assign = bool(_ASSIGN.match(s, i))
        buf: list[str] = []
        subs: list[SimpleCommand] = []
        quoted = False
        while i < len(s) and s[i] not in _META:
            char = s[i]
            if char == "\\":
                if s.startswith("\\\n", i):
                    i += 2
                    continue
                buf.append(s[i + 1:i + 2] or "\\")
                quoted, i = True, i + 2
            elif char == "'":
                end = s.find("'", i + 1)
                if end < 0:
                    raise ShellSyntaxError("unbalanced single quote")
                buf.append(s[i + 1:end])
                quoted, i = True, end + 1
            elif s.startswith("$'", i):
                text, i = ansi_c(s, i + 2)
                buf.append(text)
                quoted = True
            elif s.startswith('$"', i) or char == '"':
                i = self._dquote(i + (2 if char == "$" else 1), buf, subs)
                quoted = True
            else:
                end = self._expansion(i, subs)
                buf.append(s[i:end] if end is not None else char)
                i = end if end is not None else i + 1
        return Word("".join(buf), tuple(subs), quoted, assign), i

    def _dquote(self, i: int, buf: list[str], subs: list[SimpleCommand]) -> int:
        s = self.s
        while i < len(s):
            char = s[i]
            if char == '"':
                return i + 1
            if char == "\\" and s[i + 1:i + 2] in ("$", "`", '"', "\\", "\n"):
                buf.append("" if s[i + 1] == "\n" else s[i + 1])
                i += 2
                continue
            end = self._expansion(i, subs)
            buf.append(s[i:end] if end is not None else char)
            i = end if end is not None else i + 1
        raise ShellSyntaxError("unbalanced double quote")

    def _expansion(self, i: int, subs: list[SimpleCommand]) -> int | None:
        """Read `$((...))`, `$(...)`, `${...}` or a backtick at i; None if none starts there."""
        s = self.s
        if s.startswith("$((", i):
            found: list[SimpleCommand] = []
            end = self._arith(i + 3, found)
            if end is not None:
                subs.extend(found)
                return end
        if s.startswith("$(", i):
            parts, end = self._substitution(i + 2)
            subs.extend(parts)
            return end
        if s.startswith("${", i):
            return self._param(i + 2, subs)
        if s.startswith("`", i):
            parts, end = self._backtick(i + 1)
            subs.extend(parts)
            return end
        return None

    def _sub_ctx(self) -> Context:
        return Context(self.ctx.wrappers, self.ctx.function, (*self.ctx.scope, next(self.counter)))

    def _substitution(self, i: int) -> tuple[list[SimpleCommand], int]:
        child = self._child(self.s, i, self._sub_ctx())
        parts = child.parse_list(frozenset({")"}))
        token = child._peek()
        if not child._is_op(token, ")"):
            raise ShellSyntaxError("unbalanced $( or <(")
        return parts, token.end

    def _backtick(self, i: int) -> tuple[list[SimpleCommand], int]:
        s, buf = self.s, []
        while i < len(s) and s[i] != "`":
            if s[i] == "\\" and s[i + 1:i + 2] in ("`", "$", "\\"):
                i += 1
            buf.append(s[i])
            i += 1
        if i >= len(s):
            raise ShellSyntaxError("unbalanced backquote")
        return self._child("".join(buf), 0, self._sub_ctx()).parse_all(), i + 1

    def _param(self, i: int, subs: list[SimpleCommand]) -> int:
        s = self.s
        while i < len(s):
            char = s[i]
            if char == "}":
                return i + 1
            if char == "\\":
                i += 2
            elif char == "'":
                end = s.find("'", i + 1)
                if end < 0:
                    raise ShellSyntaxError("unbalanced single quote")
                i = end + 1
            elif char == '"':
                i = self._dquote(i + 1, [], subs)
            else:
                end = self._expansion(i, subs)
                i = end if end is not None else i + 1
        raise ShellSyntaxError("unbalanced ${")

    def _arith(self, i: int, subs: list[SimpleCommand]) -> int | None:
        """The end of `$(( ... ))` from inside it, or None when it is `$( (...) )` after all."""
        s, depth = self.s, 0
        while i < len(s):
            char = s[i]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    return i + 2 if s.startswith("))", i) else None
                depth -= 1
            else:
                end = self._expansion(i, subs)
                if end is not None:
                    i = end
                    continue
            i += 1
        return None

    def _scan_expansions(self, subs: list[SimpleCommand]) -> None:
        """Find the substitutions in an unquoted heredoc body (the whole string)."""
        i = 0
        while i < len(self.s):
            if self.s[i] == "\\":
                i += 2
                continue
            end = self._expansion(i, subs)
            i = end if end is not None else i + 1

    # ------------------------------------------------------------ heredocs

    def _read_heredocs(self) -> None:
        pending, self._pending = self._pending, []
        for doc in pending:
            body, self.i = self._heredoc_body(self.i, doc)
            if not doc.quoted:
                scanner = self._child(body, 0, self._sub_ctx())
                found: list[SimpleCommand] = []
                scanner._scan_expansions(found)
                self._heredoc_parts.extend(found)
            owner = doc.owner
            if owner is not None and (doc.to_shell or owner.reads_code and owner.program in SHELLS):
                # `bash <<EOF` or `cat <<EOF | sh`: the body is a script
                self._heredoc_parts.extend(self._reparse(body, (*owner.wrappers, f"{owner.program}-heredoc")))

    def _heredoc_body(self, i: int, doc: Heredoc) -> tuple[str, int]:
        s, lines = self.s, []
        while i < len(s):
            newline = s.find("\n", i)
            end = len(s) if newline < 0 else newline
            line = s[i:end]
            i = end + 1 if newline >= 0 else len(s)
            check = line.lstrip("\t") if doc.strip_tabs else line
            if check.rstrip("\r") == doc.delimiter:
                break
            lines.append(line)
        return "\n".join(lines), i

    def _reparse(self, text: str, wrappers: tuple[str, ...]) -> list[SimpleCommand]:
        """Parse a string that a command runs as shell code (`bash -c`, `eval`, a heredoc)."""
        ctx = Context(wrappers, self.ctx.function, (*self.ctx.scope, next(self.counter)))
        try:
            return self._child(text, 0, ctx).parse_all()
        except ShellSyntaxError as exc:
            return [SimpleCommand((), wrappers=wrappers, unparseable=str(exc), raw=text.strip(), scope=ctx.scope)]
