"""Commits a command made itself (the model's own `git commit`, outside the sandbox) that hold a
secret: undone where they are all the current branch's own (moved forward, amended, rebased),
reported where they are not (another branch, the stash, a tag).

Undone means the branch goes back to where it was before the command, with every change kept in
the work tree and staged as the commit had it, except the files holding the secret, which stay
unstaged: the turn's own commit check then keeps them out, as it keeps out any file a command
wrote a secret into.
"""

from __future__ import annotations

from dataclasses import dataclass

from once.vcs.commit_secrets import Refs, added_secrets, message_secrets, new_commits, reachable, refs
from once.vcs.repo import GitRepo


@dataclass(frozen=True)
class SecretCommits:
    commits: list[str]
    secrets: dict[str, list[str]]
    """Path -> kinds of the secrets the commits added to files."""
    in_messages: list[str]
    """Kinds of the secrets in the commits' messages."""
    undone: bool

    def message(self) -> str:
        """What the model is told."""
        shas = ", ".join(sha[:8] for sha in self.commits[:5]) + (" ..." if len(self.commits) > 5 else "")
        kinds = ", ".join(sorted({kind for found in self.secrets.values() for kind in found} | set(self.in_messages)))
        paths = ", ".join(list(self.secrets)[:5])
        where = " and ".join(filter(None, [paths, "the commit message" if self.in_messages else ""]))
        if self.undone:
            kept = f", and {paths} stay uncommitted" if paths else ""
            return (f"The command's commit ({shas}) put a secret ({kinds}) into {where}. The agent undid it: the "
                    f"branch is back where it was, every change is kept in the work tree{kept}. Never commit a "
                    "secret: read it from an environment variable or a gitignored file.")
        return (f"The command made commits ({shas}) that hold a secret ({kinds}) in {where}, which the agent "
                "does not undo (not all of them are the current branch's own). Tell the user: they must "
                "be taken out of history before they are pushed anywhere.")


def check_command_commits(repo: GitRepo, before: Refs) -> SecretCommits | None:
    """The commits made since `before` that hold a new secret, undone when they can be; None when
    there are none (or the command made no commit)."""
    after = refs(repo)
    if after.tips == before.tips:
        return None
    commits = new_commits(repo, before, after)
    secrets, in_messages = added_secrets(repo, commits), message_secrets(repo, commits)
    if not secrets and not in_messages:
        return None
    undone = _only_this_branch(repo, before, after, commits)
    if undone:
        _undo(repo, before, list(secrets))
    return SecretCommits(commits, secrets, in_messages, undone)


def _only_this_branch(repo: GitRepo, before: Refs, after: Refs, commits: list[str]) -> bool:
    """The new commits are all the current branch's own (moved forward, amended or rebased), so
    putting the branch back where it was drops them all and touches nothing else."""
    if after.branch != before.branch or after.head is None or after.head == before.head:
        return False
    return set(reachable(repo, [after.head], before.tips)) == set(commits)


def _undo(repo: GitRepo, before: Refs, paths: list[str]) -> None:
    if before.head is None:  # the branch had no commit yet: it has none again
        repo.run("update-ref", "-d", "HEAD")
        if paths:
            repo.run("rm", "--cached", "-q", "--ignore-unmatch", "--", *paths)
        return
    repo.run("reset", "-q", "--soft", before.head)
    if paths:  # without paths, reset would unstage everything
        repo.run("reset", "-q", before.head, "--", *paths)
