"""Commits a command made itself (the model's own `git commit`, outside the sandbox) that hold a
secret: undone where the current branch (or a detached HEAD) is the only ref that moved, so
putting it back drops them all; reported where other refs hold them (another branch, a tag, the
stash, a worktree, a remote-tracking ref).

Undone means the branch goes back to where it was before the command, with every change kept in
the work tree and staged as the commit had it, except the files holding the secret, which stay
unstaged: the turn's own commit check then keeps them out, as it keeps out any file a command
wrote a secret into.
"""

from __future__ import annotations

from dataclasses import dataclass

from once.errors import VcsError
from once.vcs.commit_secrets import NOT_FILES, Refs, added_secrets, new_commits, readable, refs
from once.vcs.repo import GitRepo


MAX_SCANNED_COMMITS = 2_000
"""More new commits than this (a fetch, say) are not read one by one: the model and user are told."""


class TooManyCommits(VcsError):
    def __init__(self, count: int) -> None:
        super().__init__(f"{count:,} new commits appeared, more than the {MAX_SCANNED_COMMITS:,} the agent reads")


@dataclass(frozen=True)
class SecretCommits:
    commits: list[str]
    files: dict[str, list[str]]
    """Path -> kinds of the secrets the commits added to files (content, name or link target)."""
    other: dict[str, list[str]]
    """Where else (a commit's text, a tag's, a blob a ref points at) -> kinds."""
    undone: bool

    def message(self) -> str:
        """What the model is told."""
        shas = ", ".join(sha[:8] for sha in self.commits[:5]) + (" ..." if len(self.commits) > 5 else "")
        kinds = ", ".join(sorted({kind for found in [*self.files.values(), *self.other.values()] for kind in found}))
        paths = ", ".join(readable(path) for path in list(self.files)[:5])
        where = ", ".join(filter(None, [paths, *self.other]))
        made = f"The command's commits ({shas})" if self.commits else "The command's refs"
        if self.undone:
            kept = f", and {paths} stay uncommitted" if paths else ""
            return (f"{made} put a secret ({kinds}) into {where}. The agent undid them: the branch is back "
                    f"where it was, every change is kept in the work tree{kept}. Never commit a secret: read it "
                    "from an environment variable or a gitignored file.")
        return (f"{made} hold a secret ({kinds}) in {where}, which the agent does not undo (refs other than "
                "the current branch hold them). Tell the user: they must be taken out of history before "
                "they are pushed anywhere.")


def check_command_commits(repo: GitRepo, before: Refs) -> SecretCommits | None:
    """The commits and refs made since `before` that hold a new secret, undone when they can be;
    None when there are none (or the command made nothing)."""
    after = refs(repo)
    if after == before:
        return None
    commits = new_commits(repo, before, after)
    if len(commits) > MAX_SCANNED_COMMITS:  # a fetch of a project's history: not read whole
        raise TooManyCommits(len(commits))
    found = added_secrets(repo, commits, before, after)
    if not found:
        return None
    files = {key: kinds for key, kinds in found.items() if key not in NOT_FILES}
    undone = _only_this_branch(before, after)
    if undone:
        _undo(repo, before, list(files))
        for name in sorted(n for n, _, _ in after.named - before.named if n.startswith(_REPLACE)):
            repo.run("update-ref", "-d", name)
    return SecretCommits([c.sha for c in commits], files,
                         {key: kinds for key, kinds in found.items() if key in NOT_FILES}, undone)


def _only_this_branch(before: Refs, after: Refs) -> bool:
    """HEAD moved on the same branch (or stayed detached), and no other ref or worktree moved:
    putting HEAD back drops every new commit and touches nothing else."""
    if after.branch != before.branch or after.head is None or after.head == before.head:
        return False
    if after.worktree_heads != before.worktree_heads:
        return False
    own = {f"refs/heads/{after.branch}"} if after.branch else set()
    return {name for name in after.changed(before) if not name.startswith(_REPLACE)} <= own


_REPLACE = "refs/replace/"
"""Replace refs the command made are dropped with its commits: a stand-in is what hid them."""


def _undo(repo: GitRepo, before: Refs, paths: list[str]) -> None:
    if before.head is None:  # the branch had no commit yet: it has none again
        repo.run("update-ref", "-d", "HEAD")
        if paths:
            repo.run("rm", "--cached", "-q", "--ignore-unmatch", "--", *paths)
        return
    repo.run("reset", "-q", "--soft", before.head)
    if paths:  # without paths, reset would unstage everything
        repo.run("reset", "-q", before.head, "--", *paths)
