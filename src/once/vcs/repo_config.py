"""The repository's own git settings, as git reads them, cached until a file they depend on changes.

A model that obeys a prompt injection can edit a tracked file the repository's config includes,
so the cache follows every file git read a setting from (`--show-origin`, nested includes
resolved as git resolves them), every file an include names even while it is absent, the git
directory's HEAD (`includeIf "onbranch:..."`), `commondir` and, in a linked worktree, the `.git`
file. A reading git could not finish is never cached, nor one whose files changed while it ran.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

Stamp = tuple[int, int, int, int]
MISSING: Stamp = (0, 0, 0, 0)
_READS = 3
_CLOCK_SLACK_NS = 20_000_000
"""File change times come from a coarse clock: a change this close to the reading may be inside it."""


@dataclass(frozen=True)
class Setting:
    origin: str
    """The file git read it from (a path relative to the repository, or absolute)."""
    key: str
    value: str


@dataclass(frozen=True)
class Reading:
    settings: tuple[Setting, ...]
    sources: tuple[str, ...]
    stamps: tuple[Stamp, ...]
    worktree_moved: bool
    """`core.worktree` names another folder than the repository's: git would read and commit files there."""


_cache: dict[str, Reading] = {}


def read(root: Path) -> Reading:
    """The local and worktree settings of the repository at `root` (its top level), cached."""
    key = str(root)
    cached = _cache.get(key)
    if cached is not None and cached.stamps == stamps(cached.sources):
        return cached
    reading = Reading((), (), (), False)
    for _ in range(_READS):
        started = time.time_ns()
        settings = local_settings(root)
        if settings is None:  # git could not read its config: its next command fails the same way
            break
        reading = _reading(root, settings)
        if not any(stamp != MISSING for stamp in reading.stamps):
            break
        if all(stamp == MISSING or stamp[1] < started - _CLOCK_SLACK_NS for stamp in reading.stamps):
            _cache[key] = reading
            return reading
        time.sleep(_CLOCK_SLACK_NS / 1e9)  # a file changed while git read it: read again
    _cache.pop(key, None)
    return reading


def local_settings(root: Path) -> list[Setting] | None:
    """(origin, key, value) of the repository's own config and what it includes, in git's own
    reading; None when git could not read it."""
    try:
        done = subprocess.run(["git", "config", "--list", "--null", "--show-scope", "--show-origin", "--includes"],
                              cwd=root, capture_output=True, check=False, timeout=30,
                              env={**{k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG")},
                                   "GIT_CONFIG_NOSYSTEM": "1"})
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    fields = os.fsdecode(done.stdout).split("\0")
    settings = []
    for scope, origin, entry in zip(fields[0::3], fields[1::3], fields[2::3]):
        if scope in ("local", "worktree"):
            key, _, value = entry.partition("\n")
            settings.append(Setting(origin.removeprefix("file:") if origin.startswith("file:") else "", key, value))
    return settings


def _reading(root: Path, settings: list[Setting]) -> Reading:
    git_dir, common_dir = git_dirs(root)
    sources = {str(git_dir / "HEAD"), str(git_dir / "config.worktree"), str(git_dir / "commondir"),
               str(common_dir / "config")}
    if (root / ".git").is_file():
        sources.add(str(root / ".git"))
    moved = False
    for setting in settings:
        origin = _absolute(root, setting.origin) if setting.origin else None
        if origin is not None:
            sources.add(str(origin))
        lowered = setting.key.lower()
        if lowered.startswith(("include.", "includeif.")) and lowered.endswith(".path"):
            sources.add(str(_include_target(setting.value, origin.parent if origin else git_dir)))
        elif lowered == "core.worktree":
            moved = moved or not _same_folder(_include_target(setting.value, git_dir), root)
    ordered = tuple(sorted(sources))
    return Reading(tuple(settings), ordered, stamps(ordered), moved)


def git_dirs(root: Path) -> tuple[Path, Path]:
    """The git directory of the work tree at `root` and its common directory (they differ in a
    linked worktree), as git finds them: `.git`, or the folder a `.git` file names."""
    git_dir = root / ".git"
    if git_dir.is_file():
        try:
            text = git_dir.read_text(errors="replace").strip()
        except OSError:
            text = ""
        if text.startswith("gitdir:"):
            git_dir = _include_target(text[len("gitdir:"):].strip(), root)
    common_dir = git_dir
    try:
        named = (git_dir / "commondir").read_text(errors="replace").strip()
    except OSError:
        named = ""
    if named:
        common_dir = _include_target(named, git_dir)
    return git_dir, common_dir


def stamps(sources: tuple[str, ...]) -> tuple[Stamp, ...]:
    """What a reading depends on, per file (`MISSING` when absent). The change time is in: a
    command can put a file's size and modification time back (`touch -r`), not its change time."""
    out = []
    for name in sources:
        try:
            info = os.stat(name)
            out.append((info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino))
        except OSError:
            out.append(MISSING)
    return tuple(out)


def _absolute(root: Path, path: str) -> Path:
    return Path(path) if os.path.isabs(path) else root / path


def _include_target(value: str, folder: Path) -> Path:
    """A path as git reads it in a config file in `folder`: `~` expanded, relative to the folder."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else folder / path


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
