"""`agent scan [PATH] [--staged] [--json]`: report secrets in a working tree or in staged files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer

from once.cli.common import print_json, reported, terminal_safe
from once.words import plural

MAX_BYTES = 2 * 1024 * 1024
_SNIFF = 8192
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True)
class Reported:
    """A finding as shown to a person: never the whole secret."""

    path: str
    line: int
    kind: str
    rule: str
    masked: str


def mask(secret: str) -> str:
    """The first four characters and a mask: enough to recognise a key, not to use it."""
    return secret[:4] + "****"


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    from once.vcs.repo import git_env

    # The repository's own config runs nothing here either (fsmonitor, filters, hooks).
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False,
                          env=git_env(root=cwd))


def _git_root(where: Path) -> Path | None:
    done = _git(where, "rev-parse", "--show-toplevel")
    return Path(done.stdout.decode().strip()) if done.returncode == 0 else None


def _decode(data: bytes) -> str | None:
    """Text, or None for binary data (a NUL byte near the start)."""
    return None if b"\x00" in data[:_SNIFF] else data.decode("utf-8", errors="replace")


def _read(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return _decode(path.read_bytes())
    except OSError:
        return None


def _tree_files(directory: Path) -> Iterator[str]:
    """Files under `directory`, relative to it: git's view (tracked + untracked, not ignored)
    inside a work tree, every file otherwise."""
    if _git_root(directory) is not None:
        done = _git(directory, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
        yield from sorted({name for name in done.stdout.decode("utf-8", "replace").split("\0") if name})
        return
    for top, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(names):
            yield (Path(top) / name).relative_to(directory).as_posix()


def _staged_texts(root: Path) -> Iterator[tuple[str, str]]:
    """(path, staged text) of each added, copied, modified or renamed file in the index."""
    names = _git(root, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR").stdout
    staged = {p for p in names.decode("utf-8", "surrogateescape").split("\0") if p}
    if not staged:
        return
    index = _git(root, "ls-files", "-s", "-z").stdout.decode("utf-8", "surrogateescape")
    blobs: list[tuple[str, str]] = []
    for entry in filter(None, index.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, sha, _stage = meta.split()
        if path in staged and mode.startswith("100"):  # files; not symlinks (120000) or submodules
            blobs.append((path, sha))
    from once.vcs.commit_secrets import parse_batch, readable

    asked = "".join(f"{sha}\n" for _, sha in blobs).encode()
    batch = parse_batch(_git(root, "cat-file", "--batch", stdin=asked).stdout)
    for path, sha in blobs:
        data = batch.get(sha)
        text = _decode(data) if data is not None and len(data) <= MAX_BYTES else None
        if text is not None:
            yield readable(path), text


def _scan_texts(texts: Iterator[tuple[str, str]]) -> tuple[list[Reported], int]:
    from once.safety.secrets import find_secrets

    found: list[Reported] = []
    count = 0
    for path, text in texts:
        count += 1
        found += [Reported(path, f.line, f.kind, f.rule, mask(f.secret)) for f in find_secrets(text)]
    return found, count


def _worktree_texts(target: Path) -> Iterator[tuple[str, str]]:
    if target.is_file():
        text = _read(target)
        if text is not None:
            yield str(target), text
        return
    for rel in _tree_files(target):
        text = _read(target / rel)
        if text is not None:
            yield rel, text


def scan(
    path: Optional[Path] = typer.Argument(None, help="A file or directory to scan (default: the current directory)."),
    staged: bool = typer.Option(False, "--staged", help="Scan what is staged for the next commit (pre-commit hook)."),
    json_out: bool = typer.Option(False, "--json", help="Print the findings as a JSON list."),
) -> None:
    """Report secrets (API keys, tokens, private keys, passwords in URLs and assignments).

    Scans the files git sees in a repository (tracked and untracked, not ignored), or
    every file of a plain directory, or one file; binary files and files over 2 MB are
    skipped. Secrets are shown masked. Exits 1 when something is found, 0 when clean.
    A line holding a test fixture can be marked `# pragma: allowlist secret`.

    Use it as a git pre-commit hook (the commit stops while a staged file holds a secret):

        printf '#!/bin/sh\\nexec agent scan --staged\\n' > .git/hooks/pre-commit
        chmod +x .git/hooks/pre-commit

    \b
    Examples:
      agent scan
      agent scan src/
      agent scan --staged --json
    """
    with reported():
        found, count = _run(path, staged)
    if json_out:
        print_json([{"path": r.path, "line": r.line, "kind": r.kind, "rule": r.rule, "secret": r.masked}
                    for r in found])
    else:
        for r in found:
            path = r.path.replace("\n", "\\n")  # one finding per line, whatever the file is called
            print(terminal_safe(f"{path}:{r.line}: {r.kind} ({r.rule}) {r.masked}"))
        files = len({r.path for r in found})
        summary = f"{plural(len(found), 'secret')} in {plural(files, 'file')}" if found else "no secrets found"
        print(f"{summary} ({plural(count, 'file')} scanned)", file=sys.stderr)
    if found:
        if not json_out:
            print("hint: move each secret to an environment variable or a gitignored file; a test fixture's line "
                  "can be marked `# pragma: allowlist secret`", file=sys.stderr)
        raise typer.Exit(1)  # found something, as a failing check: a pre-commit hook stops the commit


def _run(path: Path | None, staged: bool) -> tuple[list[Reported], int]:
    from once.errors import UsageError

    target = (path or Path.cwd()).expanduser()
    if not target.exists():
        raise UsageError(f"no such file or directory: {target}")
    if not (target.is_dir() or target.is_file()):
        raise UsageError(f"{target} is neither a regular file nor a directory", hint="Scan a file or a directory.")
    if staged:
        root = _git_root(target if target.is_dir() else target.parent)
        if root is None:
            raise UsageError(f"--staged needs a git repository: {target} is not inside one",
                             hint="Run it in your repository, or drop --staged to scan files.")
        return _scan_texts(_staged_texts(root))
    return _scan_texts(_worktree_texts(target))
