"""Git ignores a hostile repository's config: no hooks, fsmonitor, pager, credential helper,
filter, diff driver or alias from the repository's own config runs a program, whether the
agent runs git itself or a command it runs does."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from once.lazyre import LazyPattern

# Settings that would make the agent's git run a program: a model that obeys a prompt
# injection can write .git/config, and git honours it even in plan mode (fsmonitor) and despite
# --no-verify (post-commit, reference-transaction hooks...). They are overridden for every git
# the agent runs, as `-c` options would (GIT_CONFIG_COUNT).
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.sshCommand", "ssh"),
    ("credential.helper", ""),
    # A nested repository (a submodule, or one a command made with `git init`) has a config of
    # its own that git would honour while it looks inside: the agent's git never looks.
    ("diff.ignoreSubmodules", "all"),
    ("submodule.recurse", "false"),
    ("status.submoduleSummary", "false"),
)
# `git commit` starts `git maintenance run --auto` (older git: `gc --auto`) after every
# commit: one more process per turn, and now and then a repack the turn waits for. A few
# objects per commit stay far below gc.auto's threshold until the user's own git runs it.
NO_AUTO_MAINTENANCE = ("-c", "maintenance.auto=false", "-c", "gc.auto=0")
_DIFFING = frozenset({"diff", "show", "log", "format-patch"})
"""Subcommands that may run an external diff or a textconv driver (`diff.external`,
`diff.X.command`, `diff.X.textconv`): given --no-ext-diff --no-textconv."""

# Keys of the repository's own config (and what it includes) that name a program, with the
# value that runs nothing. An emptied driver makes git refuse to go on ("cannot run"), which is
# the safe failure; a textconv becomes `cat`, which shows the file as it is.
_PROGRAM_KEYS: tuple[tuple[LazyPattern, str], ...] = tuple(
    (LazyPattern(pattern, re.IGNORECASE), safe) for pattern, safe in (
    (r"core\.fsmonitor", "false"),
    (r"core\.hookspath", os.devnull),
    (r"core\.pager|pager\..+", "cat"),
    (r"core\.(editor|askpass|gitproxy)|sequence\.editor|web\.browser", ""),
    (r"core\.sshcommand", "ssh"),
    (r"credential\.(.+\.)?helper", ""),
    (r"filter\..+\.(clean|smudge|process)", ""),
    (r"diff\..+\.textconv", "cat"),
    (r"diff\.external|diff\..+\.command|merge\..+\.driver", ""),
    (r"(difftool|mergetool|browser)\..+\.(cmd|path)|trailer\..+\.(cmd|command)", ""),
    (r"gpg\.(.+\.)?program", "false"),
    (r"remote\..+\.uploadpack", "git-upload-pack"),
    (r"remote\..+\.receivepack", "git-receive-pack"),
))
_SHELL_VALUED = LazyPattern(r"alias\..+|submodule\..+\.update", re.IGNORECASE)
"""Keys that run a shell command when their value starts with `!`."""
_SHELL_SAFE = {"alias": "", "submodule": "checkout"}
_cache: dict[str, tuple[frozenset[str], tuple[tuple[int, int, int, int], ...], list[tuple[str, str]]]] = {}


def git_env(extra: dict[str, str] | None = None, root: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Paths are file names, never patterns: `star*.py` must not match `star-1.py`.
    env["GIT_LITERAL_PATHSPECS"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.pop("GIT_INDEX_FILE", None)
    env.update(safe_config_env(env, root))
    if extra:
        env.update(extra)
    return env


def safe_config_env(env: dict[str, str], root: Path | None) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY/VALUE entries that override `SAFE_CONFIG` and the programs the
    repository's own config names (after any the caller's environment holds)."""
    return _config_entries(env, [*SAFE_CONFIG, *(repository_overrides(root) if root is not None else [])])


def command_git_env(env: dict[str, str], root: Path) -> dict[str, str]:
    """`env` for a command or check run in `root`: any git it starts ignores the programs the
    repository's own config names, and finds no bare repository the model could have written.
    The user's global settings (git-lfs, credential helpers, hooks in `.git/hooks`) stay theirs."""
    # A folder of plain files the model wrote (HEAD, objects/, refs/, a config naming programs) is
    # a bare repository to git, found as it would find ours: only one named explicitly counts.
    overrides = [("safe.bareRepository", "explicit"), *repository_overrides(root)]
    return {**env, **_config_entries(env, overrides)}


def _config_entries(env: dict[str, str], pairs: list[tuple[str, str]]) -> dict[str, str]:
    try:
        start = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    out = {"GIT_CONFIG_COUNT": str(start + len(pairs))}
    for offset, (key, value) in enumerate(pairs, start):
        out[f"GIT_CONFIG_KEY_{offset}"], out[f"GIT_CONFIG_VALUE_{offset}"] = key, value
    return out


def repository_overrides(root: Path) -> list[tuple[str, str]]:
    """The program-naming settings of the repository's own config (`.git/config`, the worktree's,
    and every file they include, which may be a tracked file anyone can edit), each overridden
    with a value that runs nothing. Cached until one of those files, or HEAD, changes."""
    cached = _cache.get(str(root))
    if cached is not None and cached[1] == _stamps(cached[0]) and any(stamp != _MISSING for stamp in cached[1]):
        return cached[2]
    listed = _local_settings(root)
    overrides = program_overrides(listed)
    git_dir = Path(root) / ".git"
    # HEAD too: `includeIf "onbranch:..."` takes a file in or out when another branch is checked
    # out, with no config file changed.
    sources = frozenset({str(git_dir / "config"), str(git_dir / "config.worktree"), str(git_dir / "HEAD"),
                         *(_include_path(git_dir, value) for key, value in listed
                           if key.lower().startswith(("include.", "includeif.")))})
    _cache[str(root)] = (sources, _stamps(sources), overrides)
    return overrides


def program_overrides(settings: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(key, safe value) for each setting in `settings` that names a program. Pure."""
    out: dict[str, str] = {}
    for key, value in settings:
        lowered = key.lower()
        if _SHELL_VALUED.fullmatch(key):
            if value.lstrip().startswith("!"):
                out[key] = _SHELL_SAFE[lowered.split(".", 1)[0]]
            continue
        for pattern, safe in _PROGRAM_KEYS:
            if pattern.fullmatch(key):
                out[key] = safe
                if lowered.startswith("filter."):  # an emptied filter must not abort `git add`
                    out[f"{key.rsplit('.', 1)[0]}.required"] = "false"
                break
    return sorted(out.items())


def _local_settings(root: Path) -> list[tuple[str, str]]:
    """(key, value) of the repository's own config and what it includes, in git's own reading."""
    try:
        done = subprocess.run(["git", "config", "--list", "--null", "--show-scope", "--includes"],
                              cwd=root, capture_output=True, check=False, timeout=30,
                              env={**{k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG")},
                                   "GIT_CONFIG_NOSYSTEM": "1"})
    except (OSError, subprocess.SubprocessError):
        return []
    if done.returncode != 0:
        return []
    fields = os.fsdecode(done.stdout).split("\0")
    settings = []
    for scope, entry in zip(fields[0::2], fields[1::2]):
        if scope in ("local", "worktree"):
            key, _, value = entry.partition("\n")
            settings.append((key, value))
    return settings


def _include_path(git_dir: Path, value: str) -> str:
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else git_dir / path)


_MISSING = (0, 0, 0, 0)


def _stamps(sources: frozenset[str]) -> tuple[tuple[int, int, int, int], ...]:
    """What the cached reading depends on, per file (`_MISSING` when absent). The change time is
    in: a command can put a file's size and modification time back (`touch -r`) after editing an
    included file the repository tracks, but not its change time."""
    stamps = []
    for name in sorted(sources):
        try:
            stat = os.stat(name)
            stamps.append((stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino))
        except OSError:
            stamps.append(_MISSING)
    return tuple(stamps)


def without_external_diff(argv: list[str]) -> list[str]:
    """`argv` with --no-ext-diff --no-textconv after a diffing subcommand (`_DIFFING`)."""
    skip = False
    for index, arg in enumerate(argv[1:], 1):
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            if arg in _DIFFING:
                return [*argv[:index + 1], "--no-ext-diff", "--no-textconv", *argv[index + 1:]]
            return argv
    return argv
