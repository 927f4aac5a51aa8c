"""What a shell command line breaks into: simple commands, their words and redirections.

Plain data shared by the parser (`shell_split`), the unwrapping of `sudo`/`bash -c`/...
(`shell_unwrap`) and the command policy. No parsing here.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from typing import NamedTuple

WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
"""Redirection operators that open their target for writing (`>&` only with a file target)."""
INPUT_OPS = frozenset({"<", "<<<", "<>"})


class Redirect(NamedTuple):
    """One redirection: `2>> log` is Redirect("2>>", "log"); a heredoc is Redirect("<<", "EOF")."""

    op: str
    target: str

    @property
    def operator(self) -> str:
        """The operator without its file-descriptor number: `2>>` -> `>>`."""
        return self.op.lstrip("0123456789")

    @property
    def writes(self) -> bool:
        """Does it open a file for writing? `2>&1` and `>&-` only duplicate descriptors."""
        if self.operator == ">&":
            return not (self.target.isdigit() or self.target == "-")
        return self.operator in WRITE_OPS

    def render(self) -> str:
        return f"{self.op} {shlex.quote(self.target)}"


@dataclass(frozen=True)
class SimpleCommand:
    """One command the shell would run, with wrappers like `sudo` or `bash -c` peeled off.

    `argv` holds the words after quote removal; substitutions (`$(...)`, backticks) stay
    as their source text, and the commands inside them are separate SimpleCommands.
    """

    argv: tuple[str, ...]
    redirects: tuple[Redirect, ...] = ()
    wrappers: tuple[str, ...] = ()
    """What it runs under, outermost first: e.g. ("sudo", "bash -c")."""
    feeds_shell: bool = False
    """Its output is run as code: piped into `sh`, or the text of `bash -c "$(...)"`."""
    reads_code: bool = False
    """It runs code read from its stdin: `sh`, `bash -s`, `python -`."""
    connector: str = ""
    """The operator after it: "&&", "||", ";", "|", "&", "\\n", or "" at the end."""
    function: str | None = None
    """The shell function whose body holds it, if any."""
    scope: tuple[int, ...] = ()
    """Ids of the subshells (and substitutions) it runs in, outermost first; `cd` stays inside."""
    unparseable: str | None = None
    """Why the text could not be parsed; then argv is empty and `raw` holds the text."""
    raw: str = ""
    assigns: tuple[tuple[str, str | None], ...] = ()
    """`NAME=value` words before it or given to `env` (its environment), or, with no argv, the
    shell variables it sets for the rest of the line; None for a value only known at run time
    (`for NAME in ...`)."""

    @property
    def program(self) -> str:
        """The command's name without its directory: `/usr/bin/git` -> `git`."""
        return posixpath.basename(self.argv[0]) if self.argv else ""

    @property
    def text(self) -> str:
        """Normalised text: words re-quoted and joined by one space. What rules match."""
        if self.unparseable is not None:
            return self.raw
        if self.argv:
            return shlex.join(self.argv)
        return " ".join(redirect.render() for redirect in self.redirects)

    @property
    def sets_variables_only(self) -> bool:
        """`X=1` alone (or a `for` loop's variable): it runs nothing itself."""
        return not self.argv and not self.redirects and bool(self.assigns)

    @property
    def full_text(self) -> str:
        """The text with its wrappers and environment in front: `A=1 sudo timeout rm x`. Session
        approvals match this."""
        assigned = [f"{name}={shlex.quote(value)}" for name, value in self.assigns if value is not None]
        return " ".join([*assigned, *self.wrappers, self.text])


@dataclass(frozen=True)
class Word:
    """A word as the parser read it, before it is known to be a command, an argument or a target."""

    value: str
    subs: tuple[SimpleCommand, ...] = ()
    quoted: bool = False
    assign: bool = False  # `NAME=value` (unquoted name)
