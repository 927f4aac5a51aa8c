"""Where the paths named in a command line point, worked out (nearly) without touching the disk.

Commands run in the repository root, but `cd` moves later commands elsewhere (and a
`cd` inside `( ... )` stays there). Paths are resolved lexically: `build/../..` is
outside the repository whatever the filesystem holds. A path that depends on a
variable or a substitution is unknown.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from once.safety.shell_command import SimpleCommand

HOME_MARK = PurePosixPath("/~")
"""Stands for the home directory when it is not known: outside any repository."""
_GLOB = frozenset("*?[")


def _is_under(path: PurePosixPath, root: PurePosixPath) -> bool:
    return path == root or root in path.parents


def in_git_dir(path: str | PurePosixPath) -> bool:
    """Does the path go through a `.git` directory (or a glob that matches one, like `.g*`)?"""
    for part in PurePosixPath(path).parts:
        lowered = part.lower()
        # A shell glob only matches a dot-file when it starts with a dot: `*` misses .git, `.g*` does not.
        if lowered == ".git" or (part.startswith(".") and _GLOB & set(part) and fnmatch.fnmatchcase(".git", lowered)):
            return True
    return False


def _ln_operands(argv: tuple[str, ...]) -> tuple[list[str], str | None]:
    """The operands of `ln` (or `cp`), and the folder given with `-t`/`--target-directory`."""
    operands: list[str] = []
    directory: str | None = None
    args = list(argv[1:])
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            operands.extend(args[i:])
            break
        if arg in ("-t", "--target-directory") or arg.startswith("--target-directory="):
            if "=" in arg:
                directory = arg.split("=", 1)[1]
            elif i < len(args):
                directory, i = args[i], i + 1
        elif arg.startswith("-t") and not arg.startswith("--"):
            directory = arg[2:]
        elif arg in ("-S", "--suffix"):
            i += 1
        elif not arg.startswith("-") or arg == "-":
            operands.append(arg)
    return operands, directory


_BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")
_MAX_BRACE_WORDS = 64


def brace_words(word: str) -> list[str]:
    """The words bash's brace expansion makes of `word` (`{~/.ssh/id_rsa,a.txt}` -> two paths), at
    most 64; the word itself when it has no `{a,b}`. Ranges (`{1..9}`) never make a path."""
    words, done = [word], []
    while words and len(done) + len(words) <= _MAX_BRACE_WORDS:
        current = words.pop()
        match = _BRACES.search(current)
        if match is None:
            done.append(current)
            continue
        head, tail = current[:match.start()], current[match.end():]
        words.extend(head + choice + tail for choice in match.group(1).split(","))
    return done + words


_PARAMETER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-=+?])([^{}]*)\}")
_PIDS = re.compile(r"\$\$|\$\{\$\}|\$\{?(?:PPID|BASHPID)\b\}?")


def parameter_words(word: str) -> list[str]:
    """The texts `${NAME:-WORD}` (`-`, `=`, `+`, `?`, with or without `:`) may expand to: the
    variable's own value and WORD, both to be checked (`cat ${X:-$HOME/.bashrc}`)."""
    match = _PARAMETER.search(word)
    if match is None:
        return [word]
    head, tail = word[:match.start()], word[match.end():]
    return [each for choice in (f"${match.group(1)}", match.group(3)) for each in parameter_words(head + choice + tail)][:16]


def _proc_alias(text: str, cwd: PurePosixPath | None) -> str | None:
    """`/proc/self/root/etc/x` is `/etc/x`, `/proc/1234/cwd/x` is in that process's folder (ours
    when it is `self`); None when it cannot be known."""
    match = re.match(r"/proc/([^/]+)/(root|cwd)(/|$)", text)
    if match is None:
        return text
    rest = text[match.end():]
    if match.group(2) == "root":
        return "/" + rest
    if match.group(1) in ("self", "thread-self") and cwd is not None:
        return str(cwd) + "/" + rest
    return None


def broad_glob(component: str) -> bool:
    """`*`, `.*`, `*.*`: a pattern that matches (nearly) every name."""
    return "*" in component and set(component) <= {"*", "?", "."}


@dataclass
class PathWalk:
    """State carried from one simple command to the next: the working directory of each scope."""

    root: PurePosixPath
    home: PurePosixPath = HOME_MARK
    cwds: dict[tuple[int, ...], PurePosixPath | None] = field(default_factory=dict)
    links: dict[PurePosixPath, PurePosixPath | None] = field(default_factory=dict)
    """Links made earlier in the line (`ln -s ~/.bashrc x`): writing x writes their target."""

    @classmethod
    def start(cls, root: str, home: str | None = None) -> PathWalk:
        home_path = PurePosixPath(posixpath.abspath(home)) if home else HOME_MARK
        return cls(PurePosixPath(posixpath.abspath(root)), home_path)

    def cwd(self, scope: tuple[int, ...]) -> PurePosixPath | None:
        """The directory a command in `scope` runs in; None when a `cd` made it unknown."""
        for end in range(len(scope), -1, -1):
            if scope[:end] in self.cwds:
                return self.cwds[scope[:end]]
        return self.root

    def resolve(self, target: str, scope: tuple[int, ...]) -> PurePosixPath | None:
        """The absolute path `target` names, or None when it depends on something unknown."""
        cwd = self.cwd(scope)
        text = target
        for name in ("$PWD", "${PWD}"):
            if text == name or text.startswith(name + "/"):
                if cwd is None:
                    return None
                text = str(cwd) + text[len(name):]
        for name in ("~", "$HOME", "${HOME}"):
            if text == name or text.startswith(name + "/"):
                text = str(self.home) + text[len(name):]
        if text.startswith("~") and "$" not in text:  # `~root/.profile`: that user's home
            user_home = os.path.expanduser(text.split("/", 1)[0])
            if user_home.startswith("~"):
                return None
            text = user_home + text[len(text.split("/", 1)[0]):]
        text = _PIDS.sub("0", text)  # /proc/$$/root is / as much as /proc/self/root
        if "$" in text or "`" in text or text.startswith("~"):
            return None
        if text.startswith("/"):
            aliased = _proc_alias("/" + text.lstrip("/"), cwd)  # before `..` is tidied: /proc/self/cwd/..
            if aliased is not None:
                aliased = _proc_alias(posixpath.normpath("/" + aliased.lstrip("/")), cwd)
            return None if aliased is None else PurePosixPath(posixpath.normpath(aliased))
        if cwd is None:
            return None
        return PurePosixPath(posixpath.normpath(posixpath.join(str(cwd), text)))

    def inside(self, path: PurePosixPath) -> bool:
        return _is_under(path, self.root)

    def lands_inside(self, path: PurePosixPath) -> bool:
        """Whether writing `path` (inside the repository by name) stays inside once links are
        followed: those made earlier in the line, and symlinks already on disk (a committed link
        to ~/.bashrc). The one place this module looks at the disk."""
        path = self.follow(path)
        if path is None or not self.inside(path):
            return False
        real_root = os.path.realpath(str(self.root))
        real = os.path.realpath(str(path))
        return real == real_root or real.startswith(real_root.rstrip("/") + "/")

    def follow(self, path: PurePosixPath) -> PurePosixPath | None:
        """`path` with a link made earlier in the line replaced by what it leads to (None: unknown)."""
        for link, target in self.links.items():
            if path == link or link in path.parents:
                return None if target is None else target.joinpath(path.relative_to(link))
        return path

    def top_level_glob(self, path: PurePosixPath) -> bool:
        """Is it a pattern like `*` or `.*` right in the repository root?"""
        if not self.inside(path) or path == self.root:
            return False
        return broad_glob(path.relative_to(self.root).parts[0])

    def writes_git(self, target: str, scope: tuple[int, ...]) -> bool:
        """Does writing `target` write inside a `.git` directory (this repository's or another)?"""
        resolved = self.resolve(target, scope)
        if resolved is not None:
            inner = resolved.relative_to(self.root) if self.inside(resolved) else resolved
            return in_git_dir(inner)
        return in_git_dir(target)

    def after(self, part: SimpleCommand) -> None:
        """Follow `cd`, `pushd` and `popd` so later relative paths resolve where the shell would,
        and remember links `ln` makes."""
        if part.program == "ln" or (part.program == "cp" and any(
                arg in ("-s", "-l", "--symbolic-link", "--link") or (
                    arg.startswith("-") and not arg.startswith("--") and {"s", "l"} & set(arg[1:]))
                for arg in part.argv[1:])):
            self._link(part)
            return
        if part.program not in ("cd", "pushd", "popd"):
            return
        args = [arg for arg in part.argv[1:] if arg == "-" or not arg.startswith("-")]
        if part.program == "popd" or (args and args[0] == "-"):
            self.cwds[part.scope] = None
        elif not args:
            self.cwds[part.scope] = self.home
        else:
            self.cwds[part.scope] = self.resolve(args[0], part.scope)

    def _link(self, part: SimpleCommand) -> None:
        """Remember the links `ln` (or `cp -s` / `cp -l`) makes: `ln -s T L`, `ln -s T... DIR`,
        `ln -s -t DIR T...`, `ln -s T` (in the current folder)."""
        operands, directory = _ln_operands(part.argv)
        symbolic = part.program == "cp" or any(
            arg in ("-s", "--symbolic") or (arg.startswith("-") and not arg.startswith("--") and "s" in arg)
            for arg in part.argv[1:] if arg != "--")
        if directory is not None:
            targets, place, into = operands, directory, True
        elif len(operands) == 1:
            targets, place, into = operands, ".", True
        elif len(operands) >= 2:
            targets, place, into = operands[:-1], operands[-1], len(operands) > 2
        else:
            return
        where = self.resolve(place, part.scope)
        if where is None:
            return
        for target in targets:
            names = [where / PurePosixPath(target).name] if into else [where, where / PurePosixPath(target).name]
            for name in names:
                self.links[name] = self._pointed(target, name, symbolic, part.scope)

    def _pointed(self, target: str, link: PurePosixPath, symbolic: bool,
                 scope: tuple[int, ...]) -> PurePosixPath | None:
        """Where a link leads: a relative symlink target is relative to the link's own folder,
        a hard link's (and `cp -s`'s source) to the current folder."""
        if target.startswith("/") or not symbolic or target.startswith(("~", "$")):
            return self.resolve(target, scope)
        return PurePosixPath(posixpath.normpath(posixpath.join(str(link.parent), target)))
