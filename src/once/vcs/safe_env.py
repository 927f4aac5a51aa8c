"""Git ignores a hostile repository's config: no hooks, fsmonitor, pager, credential helper,
filter, diff driver or alias from the repository's own config runs a program, whether the
agent runs git itself or a command it runs does."""

from __future__ import annotations

import os
import re
from pathlib import Path

from once.lazyre import LazyPattern
from once.process import AGENT_PID_ENV
from once.vcs import repo_config

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
_overrides: dict[str, tuple[repo_config.Reading, list[tuple[str, str]]]] = {}


def git_env(extra: dict[str, str] | None = None, root: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Paths are file names, never patterns: `star*.py` must not match `star-1.py`.
    env["GIT_LITERAL_PATHSPECS"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    # The agent's git fetches nothing: a promisor remote the config names (a tracked include can
    # name one, with an `ext::` URL that is a command) would otherwise be fetched from whenever
    # an object is missing, `git log` reading a mailmap blob, say.
    env["GIT_NO_LAZY_FETCH"] = "1"
    env["GIT_ALLOW_PROTOCOL"] = "file"
    env.pop("GIT_INDEX_FILE", None)
    env[AGENT_PID_ENV] = str(os.getpid())  # recovery waits for a killed run's git (once.process)
    # Objects as they are: a replace ref a command made would show a clean stand-in for a commit
    # or tree holding a secret, to the agent's checks and to the commits built on them.
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env.update(safe_config_env(env, root))
    env.update(worktree_env(root))
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
    overrides = [("safe.bareRepository", "explicit"), ("protocol.ext.allow", "never"), *repository_overrides(root)]
    return {**env, **_config_entries(env, overrides), **worktree_env(root)}


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
    with a value that runs nothing (see `once.vcs.repo_config` for what the reading follows)."""
    reading = repo_config.read(Path(root))
    known = _overrides.get(str(root))
    if known is not None and known[0] is reading:
        return known[1]
    overrides = program_overrides([(setting.key, setting.value) for setting in reading.settings])
    _overrides[str(root)] = (reading, overrides)
    return overrides


def worktree_env(root: Path | None) -> dict[str, str]:
    """GIT_WORK_TREE when the repository's config moves its work tree elsewhere (`core.worktree`,
    which only the environment overrides): git would read and commit another folder's files."""
    if root is None or not repo_config.read(Path(root)).worktree_moved:
        return {}
    return {"GIT_WORK_TREE": str(root)}


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
