"""The agent's own git ignores a hostile repository's config: no hooks, fsmonitor, pager,
credential helper, filter or diff driver from `.git/config` runs a program."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Settings of a repository's own config that would make the agent's git run a program: a
# model that obeys a prompt injection can write .git/config, and git honours it even in plan
# mode (fsmonitor) and despite --no-verify (post-commit, reference-transaction hooks...). They
# are overridden for every git the agent runs, as `-c` options would (GIT_CONFIG_COUNT).
SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.sshCommand", "ssh"),
    ("credential.helper", ""),
)
# `git commit` starts `git maintenance run --auto` (older git: `gc --auto`) after every
# commit: one more process per turn, and now and then a repack the turn waits for. A few
# objects per commit stay far below gc.auto's threshold until the user's own git runs it.
NO_AUTO_MAINTENANCE = ("-c", "maintenance.auto=false", "-c", "gc.auto=0")
_DRIVER_KEYS = ("clean", "smudge", "process")
_DIFFING = frozenset({"diff", "show", "log", "format-patch"})
"""Subcommands that may run an external diff or a textconv driver (`diff.external`,
`diff.X.command`, `diff.X.textconv`): given --no-ext-diff --no-textconv."""
_drivers_cache: dict[str, tuple[tuple[int, int], list[tuple[str, str]]]] = {}


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
    """GIT_CONFIG_COUNT/KEY/VALUE entries that override `SAFE_CONFIG` and the filter and diff
    drivers the repository's own config defines (after any the caller's environment holds)."""
    pairs = [*SAFE_CONFIG, *(_local_drivers(root) if root is not None else [])]
    try:
        start = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    out = {"GIT_CONFIG_COUNT": str(start + len(pairs))}
    for offset, (key, value) in enumerate(pairs, start):
        out[f"GIT_CONFIG_KEY_{offset}"], out[f"GIT_CONFIG_VALUE_{offset}"] = key, value
    return out


def _local_drivers(root: Path) -> list[tuple[str, str]]:
    """`filter.X.clean`-style commands set in the repository's own config, emptied. Drivers from
    the user's global config (git-lfs) are the user's choice and stay."""
    config = Path(root) / ".git" / "config"
    try:
        stat = config.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = (0, 0)
    cached = _drivers_cache.get(str(root))
    if cached is not None and cached[0] == stamp and stamp != (0, 0):
        return cached[1]
    try:
        done = subprocess.run(["git", "config", "--local", "--null", "--get-regexp", r"^filter\."],
                              cwd=root, capture_output=True, check=False, timeout=30,
                              env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
        listed = os.fsdecode(done.stdout).split("\0") if done.returncode == 0 else []
    except (OSError, subprocess.SubprocessError):
        listed = []
    keys = {item.split("\n", 1)[0] for item in listed if item}
    found = sorted((key, "") for key in keys if key.startswith("filter.")
                   and key.rsplit(".", 1)[-1].lower() in _DRIVER_KEYS)
    filters = sorted({key.rsplit(".", 1)[0] for key, _ in found if key.lower().startswith("filter.")})
    found += [(f"{name}.required", "false") for name in filters]  # an emptied filter must not abort `git add`
    _drivers_cache[str(root)] = (stamp, found)
    return found


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
