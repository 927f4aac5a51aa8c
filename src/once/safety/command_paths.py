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


def _ln_operands(argv: tuple[str, ...]) -> list[str]:
    operands, skip = [], False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in ("-t", "--target-directory", "-S", "--suffix"):
            skip = True
        elif not arg.startswith("-") or arg == "-":
            operands.append(arg)
    return operands


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
        if "$" in text or "`" in text or text.startswith("~"):
            return None
        if text.startswith("/"):
            return PurePosixPath(posixpath.normpath(text))
        if cwd is None:
            return None
        return PurePosixPath(posixpath.normpath(posixpath.join(str(cwd), text)))

    def inside(self, path: PurePosixPath) -> bool:
        return _is_under(path, self.root)

    def lands_inside(self, path: PurePosixPath) -> bool:
        """Whether writing `path` (inside the repository by name) stays inside once links are
        followed: those made earlier in the line, and symlinks already on disk (a committed link
        to ~/.bashrc). The one place this module looks at the disk."""
        for link, target in self.links.items():
            if path == link or link in path.parents:
                if target is None:
                    return False
                path = target.joinpath(path.relative_to(link))
                break
        if not self.inside(path):
            return False
        real_root = os.path.realpath(str(self.root))
        real = os.path.realpath(str(path))
        return real == real_root or real.startswith(real_root.rstrip("/") + "/")

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
        if part.program == "ln":
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
        operands = _ln_operands(part.argv)
        if len(operands) < 2:
            return
        *targets, place = operands
        where = self.resolve(place, part.scope)
        if where is None:
            return
        for target in targets:
            # A relative symlink target is relative to the link's folder; a hard link's to the cwd.
            pointed = self.resolve(target, part.scope) if not target.startswith("/") else PurePosixPath(target)
            name = where / PurePosixPath(target).name if len(targets) > 1 else where
            self.links[name] = pointed
            if len(targets) == 1:
                self.links[where / PurePosixPath(target).name] = pointed  # `ln -s T dir/` makes dir/T
