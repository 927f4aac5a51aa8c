"""Secrets in commits the agent did not make itself: those a command made (the model's own
`git commit`), which the turn's own check of what it commits never saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from once.vcs.repo import GitRepo


@dataclass(frozen=True)
class Refs:
    """Where HEAD and every ref point (branches, tags, the stash, any made-up `refs/x/y`; not the
    remote-tracking ones a fetch moves): what a command's commits are told apart by."""

    head: str | None
    branch: str | None
    tips: frozenset[str]


def refs(repo: GitRepo) -> Refs:
    listed = repo.run("for-each-ref", "--format=%(objectname) %(refname)").stdout.decode("utf-8", "replace")
    tips = {sha for sha, _, name in (line.partition(" ") for line in listed.splitlines())
            if not name.startswith("refs/remotes/")}
    head = repo.head_sha()
    return Refs(head, repo.branch(), frozenset(tips | ({head} if head else set())))


def new_commits(repo: GitRepo, before: Refs, after: Refs) -> list[str]:
    """Commits reachable now that were not before, oldest first."""
    added = sorted(after.tips - before.tips)
    if not added:
        return []
    return reachable(repo, added, before.tips)


def reachable(repo: GitRepo, tips: list[str], excluded: frozenset[str]) -> list[str]:
    """Commits reachable from `tips` but from none of `excluded`, oldest first (the ids go on
    standard input: a repository can have more refs than a command line holds)."""
    asked = "".join(f"{sha}\n" for sha in tips) + "".join(f"^{sha}\n" for sha in sorted(excluded))
    listed = repo.run("rev-list", "--reverse", "--stdin", input=asked.encode()).stdout.split()
    return [sha.decode() for sha in listed]


def added_secrets(repo: GitRepo, commits: list[str]) -> dict[str, list[str]]:
    """Each path that one of `commits` gave a secret its parent's version did not hold, with the
    kinds. Every commit counts: a secret one adds and the next removes is still in history."""
    from once.safety.secrets import new_secret_kinds

    if not commits:
        return {}
    raw = repo.run("diff-tree", "--stdin", "-r", "-z", "--no-renames", "--root", "-m",
                   input="".join(f"{sha}\n" for sha in commits).encode()).stdout
    changes = file_changes(raw)
    blobs = read_blobs(repo, sorted({blob for _, old, new in changes for blob in (old, new) if blob}))
    found: dict[str, set[str]] = {}
    for path, old, new in changes:
        data = blobs.get(new)
        if data is None:
            continue
        kinds = new_secret_kinds(blobs.get(old) if old else None, data)
        if kinds:
            found.setdefault(path, set()).update(kinds)
    return {path: sorted(kinds) for path, kinds in sorted(found.items())}


def message_secrets(repo: GitRepo, commits: list[str]) -> list[str]:
    """Kinds of secrets in the messages of `commits` (a message is history too)."""
    from once.safety.secrets import find_secrets

    if not commits:
        return []
    out = repo.run("log", "--stdin", "--no-walk=unsorted", "--no-show-signature", "--format=%B%x00",
                   input="".join(f"{sha}\n" for sha in commits).encode()).stdout
    texts = out.decode("utf-8", "replace").split("\0")
    return sorted({found.kind for text in texts for found in find_secrets(text, honor_markers=False)})


def file_changes(raw: bytes) -> list[tuple[str, str | None, str]]:
    """(path, old blob or None, new blob) of each regular file added or changed in `git diff-tree
    -r -z` output (commit ids between the entries are skipped)."""
    tokens = raw.split(b"\0")
    changes = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith(b":") or index >= len(tokens):
            continue
        path = tokens[index].decode("utf-8", "surrogateescape")
        index += 1
        old_mode, new_mode, old, new, _status = token[1:].decode().split()[:5]
        if not new_mode.startswith("100") or _none(new):  # deleted, a link or a submodule
            continue
        changes.append((path, old if old_mode.startswith("100") and not _none(old) else None, new))
    return changes


def _none(blob: str) -> bool:
    return not blob.strip("0")


def read_blobs(repo: GitRepo, shas: list[str]) -> dict[str, bytes]:
    """The content of each blob, from one `git cat-file --batch`; missing ones are left out."""
    if not shas:
        return {}
    return parse_batch(repo.run("cat-file", "--batch", input="".join(f"{sha}\n" for sha in shas).encode()).stdout)


def parse_batch(output: bytes) -> dict[str, bytes]:
    """`git cat-file --batch` output: sha -> content ("<sha> missing" lines are skipped)."""
    found: dict[str, bytes] = {}
    offset = 0
    while offset < len(output):
        header_end = output.index(b"\n", offset)
        header = output[offset:header_end].split()
        offset = header_end + 1
        if len(header) != 3:
            continue
        size = int(header[2])
        found[header[0].decode()] = output[offset:offset + size]
        offset += size + 1
    return found
