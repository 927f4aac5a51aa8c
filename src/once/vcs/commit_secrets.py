"""Secrets in git objects the agent did not make itself: those a command made (the model's own
`git commit`, a tag, a hand-built commit), which the turn's own check of what it commits never
saw. Every new object counts: a file's content, a symlink's target, a file's name, a commit's
raw text (message, author, any header, whatever encoding it claims), a tag's text, a blob a
ref points at."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from once.vcs.repo import GitRepo

COMMIT_TEXT = "(a commit's message, author or headers)"
TAG_TEXT = "(a tag's text)"
REF_BLOB = "(a file a ref points at)"
NOT_FILES = (COMMIT_TEXT, TAG_TEXT, REF_BLOB)
"""Keys of `NewSecrets.found` that are not paths."""


@dataclass(frozen=True)
class Refs:
    """Where HEAD, every ref (remote-tracking ones too) and every linked worktree's HEAD point."""

    head: str | None
    branch: str | None
    named: frozenset[tuple[str, str, str]]
    """(ref name, object id, object type)."""
    worktree_heads: frozenset[str] = frozenset()

    @property
    def tips(self) -> frozenset[str]:
        return frozenset({sha for _, sha, _ in self.named} | self.worktree_heads | ({self.head} if self.head else set()))

    def changed(self, before: Refs) -> set[str]:
        """Names of the refs added, moved or deleted since `before`."""
        return {name for name, _, _ in self.named ^ before.named}


def refs(repo: GitRepo) -> Refs:
    listed = repo.run("for-each-ref", "--format=%(objectname) %(objecttype) %(refname)").stdout
    named = set()
    for line in listed.decode("utf-8", "surrogateescape").splitlines():
        sha, kind, name = (line.split(" ", 2) + ["", ""])[:3]
        named.add((name, sha, kind))
    return Refs(repo.head_sha(), repo.branch(), frozenset(named), _worktree_heads(repo))


def _worktree_heads(repo: GitRepo) -> frozenset[str]:
    """The detached HEADs of linked worktrees (`for-each-ref` lists no worktree's HEAD)."""
    (folder,) = repo.git_paths("worktrees")
    heads = set()
    try:
        names = os.listdir(folder)
    except OSError:
        return frozenset()
    for name in names:
        try:
            with open(os.path.join(folder, name, "HEAD"), encoding="ascii", errors="replace") as source:
                text = source.read(100).strip()
        except OSError:
            continue
        if text and all(c in "0123456789abcdef" for c in text):
            heads.add(text)
    return frozenset(heads)


@dataclass(frozen=True)
class NewCommit:
    sha: str
    parents: tuple[str, ...]


def new_commits(repo: GitRepo, before: Refs, after: Refs) -> list[NewCommit]:
    """Commits reachable now that were not before, oldest first."""
    added = sorted(after.tips - before.tips)
    if not added:
        return []
    return reachable(repo, added, before.tips)


def reachable(repo: GitRepo, tips: list[str], excluded: frozenset[str]) -> list[NewCommit]:
    """Commits reachable from `tips` but from none of `excluded`, oldest first (the ids go on
    standard input: a repository can have more refs than a command line holds)."""
    asked = "".join(f"{sha}\n" for sha in tips) + "".join(f"^{sha}\n" for sha in sorted(excluded))
    listed = repo.run("rev-list", "--reverse", "--parents", "--stdin", input=asked.encode()).stdout
    return [NewCommit(ids[0], tuple(ids[1:])) for ids in (line.decode().split() for line in listed.splitlines()) if ids]


@dataclass
class NewSecrets:
    found: dict[str, set[str]] = field(default_factory=dict)
    """Path (or one of NOT_FILES) -> kinds."""

    def add(self, key: str, kinds: list[str]) -> None:
        if kinds:
            self.found.setdefault(key, set()).update(kinds)

    def as_dict(self) -> dict[str, list[str]]:
        return {key: sorted(kinds) for key, kinds in sorted(self.found.items())}


def added_secrets(repo: GitRepo, commits: list[NewCommit], before: Refs, after: Refs) -> dict[str, list[str]]:
    """What the new commits and refs added that holds a secret their parents did not: path (or one
    of NOT_FILES) -> kinds. Every commit counts (a secret one adds and the next removes is still
    in history); a merge only with what is new against every parent (merging a branch that
    already held a secret adds nothing)."""
    from once.safety.secrets import find_secrets, new_secret_kinds

    found = NewSecrets()
    if commits:
        raw = repo.run("diff-tree", "--stdin", "-r", "-z", "--no-renames", "--root", "-m",
                       input="".join(f"{c.sha}\n" for c in commits).encode()).stdout
        sections = diff_sections(raw)
        parents = {c.sha: c.parents for c in commits}
        wanted = {blob for changes in sections.values() for section in changes for _, old, new in section
                  for blob in (old, new) if blob}
        wanted |= {c.sha for c in commits} | {p for c in commits for p in c.parents}
        objects = read_blobs(repo, sorted(wanted))
        for sha, changes in sections.items():
            for path, kinds in _merged(changes, len(parents.get(sha, ())) or 1, objects).items():
                found.add(path, kinds)
        for commit in commits:
            before_text = b"\n".join(objects.get(p, b"") for p in commit.parents)
            found.add(COMMIT_TEXT, new_secret_kinds(before_text or None, objects.get(commit.sha, b"")))
    for name, sha, kind in after.named - before.named:
        if kind in ("tag", "blob"):
            data = read_blobs(repo, [sha]).get(sha, b"")
            found.add(TAG_TEXT if kind == "tag" else REF_BLOB,
                      sorted({f.kind for f in find_secrets(data.decode("utf-8", "replace"), honor_markers=False)}))
    return found.as_dict()


Change = tuple[str, "str | None", str]
"""(path, old blob or None, new blob)."""


def _merged(changes: list[list[Change]], parents: int, objects: dict[str, bytes]) -> dict[str, list[str]]:
    """Path -> kinds new against every parent: one diff section per parent (a parent the commit
    does not differ from has no section, and then nothing is new)."""
    from once.safety.secrets import find_secrets, new_secret_kinds

    if len(changes) < parents:
        return {}
    per_section = []
    for section in changes:
        kinds: dict[str, set[str]] = {}
        for path, old, new in section:
            found = set(new_secret_kinds(objects.get(old) if old else None, objects.get(new, b"")))
            if old is None:  # a new name: the name itself may be the secret
                found |= {f.kind for f in find_secrets(path, honor_markers=False)}
            if found:
                kinds[path] = found
        per_section.append(kinds)
    common = set.intersection(*(set(k) for k in per_section)) if per_section else set()
    return {path: sorted(set.union(*(k[path] for k in per_section))) for path in common}


def diff_sections(raw: bytes) -> dict[str, list[list[Change]]]:
    """`git diff-tree --stdin -r -z -m` output: commit -> one list of changes per parent it
    differs from, each change a file or symlink added or changed (deletions and submodules left
    out: they add no content)."""
    tokens = raw.split(b"\0")
    sections: dict[str, list[list[Change]]] = {}
    current: list[Change] | None = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith(b":"):
            if token:
                current = []
                sections.setdefault(token.decode().split()[0], []).append(current)
            continue
        if index >= len(tokens) or current is None:
            break
        path = tokens[index].decode("utf-8", "surrogateescape")
        index += 1
        old_mode, new_mode, old, new = token[1:].decode().split()[:4]
        if not new_mode.startswith(("100", "120")) or _none(new):
            continue
        current.append((path, old if old_mode.startswith(("100", "120")) and not _none(old) else None, new))
    return sections


def readable(path: str) -> str:
    """A path git gave as bytes that are not UTF-8, as text that can be logged and shown."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _none(blob: str) -> bool:
    return not blob.strip("0")


def read_blobs(repo: GitRepo, shas: list[str]) -> dict[str, bytes]:
    """The content of each object, from one `git cat-file --batch`; missing ones are left out."""
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
