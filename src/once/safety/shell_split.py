"""Split a shell command line into the simple commands it would run.

`git status && rm -rf x` is two commands, and so is `echo $(curl x)`. The command
policy judges each one, so this parser must find every command bash would run:
through `;`, `&&`, `||`, `|`, `&` and newlines, inside `( )`, `{ }`, `$( )`, backticks,
`<( )`, heredocs fed to a shell, and inside `bash -c '...'`, `eval`, `sudo`, `xargs`.
It never runs or expands anything. Input it cannot parse (unbalanced quotes, syntax
it does not know) becomes one "unparseable" command, never an exception.
"""

from __future__ import annotations

import re

from dataclasses import replace

from once.safety.shell_command import Redirect, SimpleCommand, Word
from once.safety.shell_lexer import Heredoc, Lexer, Token
from once.safety.shell_text import ShellSyntaxError
from once.safety.shell_unwrap import SHELLS, Context, finish, mark_feeds_shell

__all__ = ["Redirect", "SimpleCommand", "is_single_command", "split_command"]

MAX_NESTING = 64  # nested groups within one string: ( ( ( ... ) ) )
MAX_LENGTH = 200_000
_SKIP_WORDS = frozenset({"if", "then", "elif", "else", "do", "while", "until", "!"})
_CLOSE_WORDS = frozenset({"fi", "done", "esac", "}"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_SEPARATORS = frozenset({"&&", "||", ";", "&", "\n"})


def split_command(command: str) -> list[SimpleCommand]:
    """Every simple command in `command`, in the order they appear; [] when it runs nothing."""
    if len(command) > MAX_LENGTH:
        return [SimpleCommand((), unparseable="too long to check", raw=command.strip())]
    try:
        return _Parser(command).parse_all()
    except (ShellSyntaxError, RecursionError) as exc:
        return [SimpleCommand((), unparseable=str(exc) or "too deeply nested", raw=command.strip())]


def is_single_command(text: str) -> bool:
    """True when `text` has no `;`, `&&`, `|`, newline or other operator outside quotes."""
    try:
        parser = _Parser(text)
        while True:
            token = parser._consume()
            if token.kind == "eof":
                return True
            if token.kind == "op":
                return False
    except ShellSyntaxError:
        return False


class _Parser(Lexer):
    """Recursive descent over one string. Nested strings (`bash -c`) get a child parser."""

    def _child(self, text: str, pos: int, ctx: Context) -> Lexer:
        return _Parser(text, pos, self.depth + 1, self.counter, ctx)

    def parse_all(self) -> list[SimpleCommand]:
        parts = self.parse_list(frozenset())
        token = self._peek()
        if token.kind != "eof":
            raise ShellSyntaxError(f"unexpected {token.text!r}")
        return parts

    def parse_list(self, stop_ops: frozenset[str], stop_words: frozenset[str] = frozenset()) -> list[SimpleCommand]:
        """Pipelines joined by `;`, `&`, `&&`, `||` and newlines, up to a stop token (not consumed)."""
        parts: list[SimpleCommand] = []
        while True:
            parts.extend(self._take_heredoc_parts())
            token = self._peek()
            if token.kind == "eof" or self._is_op(token, *stop_ops) or self._is_word(token, stop_words):
                break
            if self._is_op(token, "\n", ";", "&"):
                self._consume()
                continue
            before = self.i
            pipeline = self._pipeline()
            after = self._peek()
            if after.kind == "op" and after.text in _SEPARATORS:
                if pipeline and not pipeline[-1].connector:  # `{ a & }; b` keeps a's `&`
                    pipeline[-1] = replace(pipeline[-1], connector=after.text)
                self._consume()
            elif self.i == before:
                raise ShellSyntaxError(f"unexpected {after.text!r}")
            parts.extend(pipeline)
        parts.extend(self._take_heredoc_parts())
        return parts

    def _take_heredoc_parts(self) -> list[SimpleCommand]:
        taken, self._heredoc_parts = self._heredoc_parts, []
        return taken

    def _pipeline(self) -> list[SimpleCommand]:
        stages = [self._command()]
        owners = [{id(part) for part in stages[0]}]  # before `replace` makes new objects
        while self._is_op(self._peek(), "|", "|&"):
            self._consume()
            if stages[-1]:
                stages[-1][-1] = replace(stages[-1][-1], connector="|")
            self._skip_newlines()
            stages.append(self._command())
            owners.append({id(part) for part in stages[-1]})
        for k, stage in enumerate(stages):
            # Whatever flows into a stage that runs its stdin as code is code: `curl x | sh`.
            readers = [part for later in stages[k + 1:] for part in later if part.reads_code]
            if not readers:
                continue
            marked = mark_feeds_shell(stage)
            if any(reader.program in SHELLS for reader in readers):
                self._shell_reads(owners[k])
                marked += [found for part in stage for found in self._echoed(part)]
            stages[k] = marked
        return [part for stage in stages for part in stage]

    def _shell_reads(self, owners: set[int]) -> None:
        """A shell reads this stage's output: the body of its heredocs is a script."""
        for doc in self._pending:
            if id(doc.owner) in owners:
                doc.to_shell = True

    def _echoed(self, part: SimpleCommand) -> list[SimpleCommand]:
        """`echo 'rm -rf /' | sh`: the echoed text is a script; parse it too."""
        if part.program not in ("echo", "printf"):
            return []
        args = list(part.argv[1:])
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            args.pop(0)
        text = " ".join(args).replace("\\n", "\n")
        return self._reparse(text, (*part.wrappers, f"{part.program}-to-shell"))

    def _command(self) -> list[SimpleCommand]:
        token = self._peek()
        if self._is_op(token, "("):
            if self.s.startswith("(", token.end):  # `(( i++ ))`
                found: list[SimpleCommand] = []
                end = self._arith(token.end + 1, found)
                if end is not None:
                    self.i, self._peeked = end, None
                    return self._trailing(found)
            self._consume()
            return self._trailing(self._group(")"))
        if token.kind == "word" and token.word is not None and not token.word.quoted:
            if token.text == "{":
                self._consume()
                return self._trailing(self._group("}"))
            if token.text in _SKIP_WORDS:
                while self._is_word(self._peek(), _SKIP_WORDS):
                    self._consume()
                nxt = self._peek()
                return [] if nxt.kind in ("op", "eof") and not self._is_op(nxt, "(") else self._command()
            if token.text in _CLOSE_WORDS:
                self._consume()
                return self._trailing([])
            if token.text in ("for", "select"):
                return self._for()
            if token.text == "case":
                return self._case()
            if token.text == "function":
                self._consume()
                name = self._consume()
                if self._is_op(self._peek(), "("):
                    self._consume()
                    self._expect_op(")")
                return self._function_body(name.text)
            if token.text == "[[":
                return self._test()
        return self._simple()

    def _expect_op(self, text: str) -> None:
        if not self._is_op(self._peek(), text):
            raise ShellSyntaxError(f"expected {text!r}")
        self._consume()

    def _group(self, close: str) -> list[SimpleCommand]:
        """The body of `( ... )` (a subshell: its own scope) or `{ ...; }`, closing token consumed."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ShellSyntaxError("nested too deeply to check")
        saved = self.ctx
        if close == ")":
            self.ctx = self._sub_ctx()
        try:
            if close == ")":
                parts = self.parse_list(frozenset({")"}))
            else:
                parts = self.parse_list(frozenset(), frozenset({"}"}))
        finally:
            self.ctx = saved
            self.nesting -= 1
        token = self._peek()
        if not (self._is_op(token, ")") if close == ")" else self._is_word(token, {"}"})):
            raise ShellSyntaxError(f"unbalanced {'(' if close == ')' else '{'}")
        self._consume()
        return parts

    def _redirect(self, token: Token) -> tuple[Redirect, Word, Heredoc | None]:
        target = self._peek()
        if target.kind != "word" or target.word is None:
            raise ShellSyntaxError(f"{token.text} without a target")
        self._consume()
        word, doc = target.word, None
        if token.text.lstrip("0123456789") in ("<<", "<<-"):
            doc = Heredoc(word.value, token.text.endswith("-"), word.quoted)
            self._pending.append(doc)
        return Redirect(token.text, word.value), word, doc

    def _trailing(self, parts: list[SimpleCommand]) -> list[SimpleCommand]:
        """Redirections after a group or keyword (`( ... ) > log`, `done < file`) apply to all of it."""
        redirects: list[Redirect] = []
        found: list[SimpleCommand] = []
        while self._peek().kind == "redir":
            redirect, word, _ = self._redirect(self._consume())
            redirects.append(redirect)
            found.extend(word.subs)
        if not redirects:
            return parts
        if not parts:
            return [*found, SimpleCommand((), tuple(redirects), self.ctx.wrappers, function=self.ctx.function,
                                          scope=self.ctx.scope)]
        return found + [replace(part, redirects=part.redirects + tuple(redirects)) for part in parts]

    def _simple(self) -> list[SimpleCommand]:
        words: list[Word] = []
        redirects: list[tuple[Redirect, Word]] = []
        docs: list[Heredoc] = []
        while True:
            token = self._peek()
            if token.kind == "word" and token.word is not None:
                self._consume()
                words.append(token.word)
            elif token.kind == "redir":
                redirect, word, doc = self._redirect(self._consume())
                redirects.append((redirect, word))
                docs.extend([doc] if doc else [])
            elif self._is_op(token, "(") and words and words[-1].assign and words[-1].value.endswith("="):
                words[-1] = self._array(words[-1])
            elif self._is_op(token, "(") and len(words) == 1 and not redirects and not words[0].quoted:
                self._consume()
                self._expect_op(")")
                return self._function_body(words[0].value)
            else:
                break
        if not words and not redirects:
            return []
        parts, main = finish(words, redirects, self.ctx, self._reparse)
        for doc in docs:
            doc.owner = main
        return parts

    def _array(self, name: Word) -> Word:
        """`a=(x $(y) z)`: one assignment word holding the substitutions of its items."""
        self._consume()
        subs = list(name.subs)
        while not self._is_op(self._peek(), ")"):
            token = self._consume()
            if token.kind == "eof":
                raise ShellSyntaxError("unbalanced (")
            if token.word is not None:
                subs.extend(token.word.subs)
        self._consume()
        return Word(name.value + "(...)", tuple(subs), name.quoted, True)

    def _function_body(self, name: str) -> list[SimpleCommand]:
        self._skip_newlines()
        saved = self.ctx
        self.ctx = Context(saved.wrappers, name, saved.scope)
        try:
            return self._command()
        finally:
            self.ctx = saved

    def _for(self) -> list[SimpleCommand]:
        """`for x in $(ls); do`: only the substitutions of the header run; x is only known then."""
        self._consume()
        found: list[SimpleCommand] = []
        name = self._peek()
        if name.kind == "word" and name.word is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.word.value):
            found.append(SimpleCommand((), assigns=((name.word.value, None),), function=self.ctx.function,
                                       scope=self.ctx.scope))
        while True:
            token = self._peek()
            if self._is_op(token, "(") and self.s.startswith("(", token.end):
                end = self._arith(token.end + 1, found)
                if end is None:
                    raise ShellSyntaxError("unbalanced ((")
                self.i, self._peeked = end, None
            elif token.kind == "word" and not self._is_word(token, {"do"}) and token.word is not None:
                self._consume()
                found.extend(token.word.subs)
            else:
                return found

    def _case(self) -> list[SimpleCommand]:
        self._consume()
        subject = self._consume()
        parts = list(subject.word.subs) if subject.word is not None else []
        self._skip_newlines()
        if not self._is_word(self._consume(), {"in"}):
            raise ShellSyntaxError("case without in")
        while True:
            self._skip_newlines()
            parts.extend(self._take_heredoc_parts())
            token = self._peek()
            if token.kind == "eof":
                raise ShellSyntaxError("case without esac")
            if self._is_word(token, {"esac"}):
                self._consume()
                return self._trailing(parts)
            if self._is_op(token, "("):
                self._consume()
            while not self._is_op(self._peek(), ")"):  # the pattern: words joined by |
                token = self._consume()
                if token.kind not in ("word", "op") or (token.kind == "op" and token.text != "|"):
                    raise ShellSyntaxError("bad case pattern")
                parts.extend(token.word.subs if token.word is not None else ())
            self._consume()
            parts.extend(self.parse_list(_CASE_ENDS, frozenset({"esac"})))
            if self._peek().kind == "op" and self._peek().text in _CASE_ENDS:
                self._consume()

    def _test(self) -> list[SimpleCommand]:
        """`[[ ... ]]`: `<`, `&&` and `(` inside are operands of the test, not shell syntax."""
        words: list[Word] = []
        while True:
            token = self._consume()
            if token.kind == "eof":
                raise ShellSyntaxError("[[ without ]]")
            words.append(token.word if token.word is not None else Word(token.text))
            if len(words) > 1 and self._is_word(token, {"]]"}):
                break
        parts, _ = finish(words, [], self.ctx, self._reparse)
        return self._trailing(parts)
