"""What a killed run left in the work tree, the index and beside its files: reading and tidying."""

from __future__ import annotations

import os
import time
from pathlib import Path, PurePosixPath

from once.atomic import is_temp_of, temp_target
from once.recovery.journal import blob_id
from once.vcs import GitRepo

_MTIME_SLACK = 2.0
"""Seconds of clock granularity allowed when telling a temp file made by the run from an older one."""


def disk_blobs(root: Path, paths: list[str]) -> dict[str, str | None]:
    """The blob id of each file as it is on disk now (None: no file there)."""
    found: dict[str, str | None] = {}
    from once.safety.regular import committed_bytes, link_on_the_way

    for path in paths:
        # A link's blob is its target; a FIFO or a device is not read (it would block or never
        # end), nor a file reached through a link: neither is what the run wrote.
        data = None if link_on_the_way(root, path) else committed_bytes(root / path)
        found[path] = blob_id(data)
    return found


def staged_blobs(repo: GitRepo, paths: list[str]) -> dict[str, str | None]:
    """Of `paths`, those whose index entry differs from HEAD, with the index blob (None: removed)."""
    if not paths:
        return {}
    listed = repo.run("ls-files", "-s", "-z", "--", *paths).stdout
    index = {}
    for record in filter(None, listed.split(b"\0")):
        meta, _, name = record.partition(b"\t")
        index[os.fsdecode(name)] = os.fsdecode(meta.split()[1])
    if repo.head_sha() is None:
        return dict(index)
    differ = repo.run("diff", "--cached", "--name-only", "--no-renames", "-z", "--", *paths).stdout
    return {os.fsdecode(name): index.get(os.fsdecode(name)) for name in differ.split(b"\0") if name}


def reset_index(repo: GitRepo, paths: list[str]) -> None:
    """Put the index entries of `paths` back as HEAD has them; the work tree is not touched."""
    if not paths:
        return
    if repo.head_sha() is None:
        repo.run("rm", "--cached", "-q", "--ignore-unmatch", "--", *paths)
    else:
        repo.run("reset", "-q", "HEAD", "--", *paths, ok_codes=(0, 1))


def remove_temps(repo: GitRepo, paths: list[str], since: float) -> list[str]:
    """Delete the atomic writer's temp files beside `paths` and in `.once/` that the killed run made
    (untracked, written after it started); returns them, repo-relative."""
    from once.safety.regular import link_on_the_way

    found = []
    for rel in paths:
        if link_on_the_way(repo.root, rel):  # listing it would list wherever the link points
            continue
        parent = PurePosixPath(rel).parent
        found += [str(parent / name) for name in _entries(repo.root / parent, since)
                  if is_temp_of(name, PurePosixPath(rel).name)]
    if not link_on_the_way(repo.root, ".once/x"):
        found += [f".once/{name}" for name in _entries(repo.root / ".once", since) if temp_target(name)]
    candidates = sorted({os.path.normpath(path) for path in found})
    if not candidates:
        return []
    tracked = {os.fsdecode(name) for name in repo.run("ls-files", "-z", "--", *candidates).stdout.split(b"\0")}
    removed = [path for path in candidates if path not in tracked]
    for path in removed:
        if not link_on_the_way(repo.root, path):
            (repo.root / path).unlink(missing_ok=True)
    return removed


def _entries(directory: Path, since: float) -> list[str]:
    """Names of the regular files in `directory` changed at or after `since`."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    names = []
    for entry in entries:
        try:
            recent = entry.stat(follow_symlinks=False).st_mtime >= since - _MTIME_SLACK
            if recent and entry.is_file(follow_symlinks=False):
                names.append(entry.name)
        except OSError:
            continue
    return names


def wait_for_index_lock(repo: GitRepo, timeout: float = 5.0) -> None:
    """A git the killed run started goes on without it and may still hold the index for a moment."""
    (lock,) = repo.git_paths("index.lock")
    deadline = time.monotonic() + timeout
    while lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
