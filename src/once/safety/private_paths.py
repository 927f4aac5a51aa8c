"""Which paths are the user's private files: the home folder's dot-files, the system's secrets,
another process's environment, memory or folders. Glob patterns count for what they may match
(`/ho*/me/.ss?/id_rsa`, `~/*/id_rsa` under bash's dotglob). Pure: paths in, answers out.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

PRIVATE_SYSTEM = ("/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/sudoers", "/root")
# Another process's environment (the agent's own holds its provider key), memory, and the
# folders it opens onto (its root, working folder, open files).
_PROCESS_FILES = ("environ", "mem", "auxv")
_PROCESS_FOLDERS = ("cwd", "fd", "map_files", "root")
_PROC_PATH = re.compile(r"/proc/([^/]*)(?:/task/[^/]*)?/([^/]*)")
_GLOB = frozenset("*?[")


def names_process_secret(name: str) -> bool:
    """A word that names (or, through a glob or a variable, may name) a process's environment or
    memory, or another process's folders: `/proc/$PPID/environ`, `/proc/1/envir??`, `/proc/9/cwd/x`."""
    for match in _PROC_PATH.finditer(name):
        pid, entry = match.groups()
        unknown = "$" in entry or "`" in entry
        if unknown or any(fnmatchcase(file, entry) for file in _PROCESS_FILES):
            return True
        if pid not in ("self", "thread-self") and any(fnmatchcase(folder, entry) for folder in _PROCESS_FOLDERS):
            return True
    return False


def private_path(path: PurePosixPath, home: PurePosixPath) -> bool:
    """A file among the user's private ones (or a pattern that may match one)."""
    if _GLOB & set(str(path)):
        return _private_pattern(path, home)
    if path == home or home in path.parents:
        return path != home and path.relative_to(home).parts[0].startswith(".")
    text = str(path)
    return any(text == place or text.startswith(place + "/") for place in PRIVATE_SYSTEM)


def holds_home(path: PurePosixPath, home: PurePosixPath) -> bool:
    """The home folder itself or a folder above it (or a pattern that may match one): reading it
    whole reads the private files too (`grep -r x ~`, `grep -r x /h*`)."""
    parts, home_parts = path.parts, home.parts
    return len(parts) <= len(home_parts) and all(fnmatchcase(h, p) for h, p in zip(home_parts, parts))


def _private_pattern(path: PurePosixPath, home: PurePosixPath) -> bool:
    parts = path.parts
    for base in (home, *map(PurePosixPath, PRIVATE_SYSTEM)):
        base_parts = base.parts
        if len(parts) < len(base_parts) or not all(fnmatchcase(b, p) for b, p in zip(base_parts, parts)):
            continue
        if base != home:
            return True
        if len(parts) > len(base_parts):
            below = parts[len(base_parts)]
            return below.startswith(".") or bool(_GLOB & set(below))  # bash's dotglob lets `*` match .ssh
    return False
