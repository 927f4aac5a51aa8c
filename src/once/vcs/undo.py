"""Undo the agent's commits: reset when they are local, revert when already published.

The user's own work is never lost: files changed since the agent's commit make the
undo refuse, staged changes to other files stay staged, and the run's wip commits
(the user's changes saved before an agent edit) come back as uncommitted changes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from once.errors import UndoRefusedError
from once.vcs.messages import format_revert_message, is_agent_commit, is_wip_commit, run_of
from once.vcs.repo import GitRepo, git_env

_LOG_FORMAT = "--format=%H%x1f%P%x1f%B"


@dataclass
class UndoResult:
    shas: list[str]
    """The commits undone, newest first."""
    method: str
    """"reset" (history rewritten) or "revert" (new commits undo the old ones)."""
    files: list[str]
    """Files whose content the undo changed."""
    restored_user_changes: list[str]
    """Files whose wip-saved user changes are back as uncommitted changes."""
    revert_shas: list[str] = field(default_factory=list)
    """The revert commits made, oldest first (method "revert" only)."""


@dataclass(frozen=True)
class _Commit:
    sha: str
    parents: list[str]
    message: str

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()

    @property
    def run(self) -> str | None:
        return run_of(self.message)

    @property
    def is_agent(self) -> bool:
        return is_agent_commit(self.message)

    @property
    def is_wip(self) -> bool:
        return is_wip_commit(self.message)

    def describe(self) -> str:
        return f'{self.short} "{self.subject}"'


def _iter_log(repo: GitRepo, *args: str) -> Iterator[_Commit]:
    """Stream `git log`, newest first, so a walk can stop early on a long history."""
    argv = ["git", "log", "--no-show-signature", "-z", _LOG_FORMAT, *args]
    proc = subprocess.Popen(
        argv, cwd=repo.root, env=git_env(root=repo.root), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    try:
        pending = b""
        while chunk := proc.stdout.read(65536):
            pending += chunk
            *records, pending = pending.split(b"\0")
            for record in records:
                yield _parse_record(record)
        if pending.strip():
            yield _parse_record(pending)
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _parse_record(record: bytes) -> _Commit:
    sha, parents, message = os.fsdecode(record).lstrip("\n").split("\x1f", 2)
    return _Commit(sha=sha, parents=parents.split(), message=message)


def _head_commit(repo: GitRepo) -> _Commit:
    if repo.head_sha() is None:
        raise UndoRefusedError("nothing to undo: the branch has no commits yet")
    out = repo.run("log", "--no-show-signature", "-1", "-z", _LOG_FORMAT, "HEAD").stdout
    return _parse_record(out.rstrip(b"\0"))


def _files_of(repo: GitRepo, commit: _Commit) -> list[str]:
    out = repo.run(
        "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", "--no-renames", commit.sha
    ).stdout
    return [os.fsdecode(name) for name in out.split(b"\0") if name]


def _refuse_dirty(repo: GitRepo, files: list[str]) -> None:
    dirty = repo.dirty_paths(files)
    if dirty:
        raise UndoRefusedError(
            f"{dirty[0]} changed since the agent's commit; commit or stash your changes first"
        )


def _published(repo: GitRepo, sha: str) -> bool:
    """Whether `sha` is on the upstream branch or any remote-tracking branch."""
    refs = ["refs/remotes/"]
    upstream = repo.run("rev-parse", "--symbolic-full-name", "@{upstream}", ok_codes=(0, 128))
    name = os.fsdecode(upstream.stdout).strip()
    if upstream.returncode == 0 and name:
        refs.append(name)
    out = repo.run("for-each-ref", "--count=1", "--format=%(refname)", "--contains", sha, *refs)
    return bool(out.stdout.strip())


def _empty_tree(repo: GitRepo) -> str:
    return repo.text("mktree", input=b"")


def _move_head(repo: GitRepo, old: str, new: str | None, reason: str) -> None:
    """Check out `new` like `git checkout` would (staged changes elsewhere are kept), then
    point the branch at it; None makes the branch unborn again."""
    repo.run("update-index", "-q", "--refresh", ok_codes=(0, 1))
    repo.run("read-tree", "-m", "-u", old, new or _empty_tree(repo))
    if new is None:
        repo.run("update-ref", "-m", reason, "-d", "HEAD", old)
    else:
        repo.run("update-ref", "-m", reason, "HEAD", new, old)


def _restore_wips(repo: GitRepo, commits: list[_Commit]) -> list[str]:
    """Put back, as uncommitted changes, each file's newest wip-saved content."""
    newest: dict[str, _Commit] = {}
    for commit in commits:  # newest first: the first wip seen for a file wins
        if commit.is_wip:
            for path in _files_of(repo, commit):
                newest.setdefault(path, commit)
    for commit in {c.sha: c for c in newest.values()}.values():
        paths = [path for path, owner in newest.items() if owner.sha == commit.sha]
        listed = repo.run("ls-tree", "-r", "-z", "--name-only", commit.sha, "--", *paths).stdout
        present = {os.fsdecode(name) for name in listed.split(b"\0") if name}
        if present:
            repo.run("restore", f"--source={commit.sha}", "--worktree", "--", *sorted(present))
        for path in set(paths) - present:  # the user had deleted it
            (repo.root / path).unlink(missing_ok=True)
    return sorted(newest)


def _reset(repo: GitRepo, commits: list[_Commit], label: str) -> UndoResult:
    files = sorted({path for commit in commits for path in _files_of(repo, commit)})
    _refuse_dirty(repo, files)
    oldest = commits[-1]
    base = oldest.parents[0] if oldest.parents else None
    if base is None and repo.branch() is None:
        raise UndoRefusedError("cannot undo the first commit of a detached HEAD")
    _move_head(repo, commits[0].sha, base, f"once: undo {label}")
    restored = _restore_wips(repo, commits)
    return UndoResult([c.sha for c in commits], "reset", files, restored)


def _revert(repo: GitRepo, commits: list[_Commit], label: str) -> UndoResult:
    """One revert commit per agent commit, newest first; the run's wip commits stay."""
    agent = [commit for commit in commits if commit.is_agent]
    if not agent:
        raise UndoRefusedError(f"nothing to revert: {label} has no agent commit, only saved user changes")
    files = sorted({path for commit in agent for path in _files_of(repo, commit)})
    _refuse_dirty(repo, files)
    head = commits[0].sha
    made = _build_reverts(repo, head, agent)
    _move_head(repo, head, made[-1], f"once: revert {label}")
    return UndoResult([c.sha for c in agent], "revert", files, [], revert_shas=made)


def _build_reverts(repo: GitRepo, head: str, agent: list[_Commit]) -> list[str]:
    """Chain the revert commits on `head` in a temporary index, so the real index, the
    work tree and the branch change only once all of them applied."""
    parent, made = head, []
    with tempfile.TemporaryDirectory(prefix="once-undo-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        repo.run("read-tree", head, env=env)
        for commit in agent:
            before = commit.parents[0] if commit.parents else _empty_tree(repo)
            # Plumbing diff: the user's diff settings (colour, prefixes) cannot leak in.
            patch = repo.run(
                "diff-tree", "-r", "-p", "--binary", "--full-index", "--no-renames", commit.sha, before
            ).stdout
            if patch:
                applied = repo.run("apply", "--cached", "--3way", env=env, input=patch, ok_codes=(0, 1))
                if applied.returncode != 0:
                    raise UndoRefusedError(
                        f"cannot revert {commit.describe()} cleanly: later commits changed the same lines",
                        hint=f"Resolve it by hand with `git revert {commit.short}`.",
                    )
            tree = repo.text("write-tree", env=env)
            message = format_revert_message(commit.subject, commit.sha, commit.run)
            options = repo.commit_options()
            parent = repo.text(
                *options, "commit-tree", tree, "-p", parent, "-F", "-", input=message.encode("utf-8")
            )
            made.append(parent)
    return made


def _undo(repo: GitRepo, commits: list[_Commit], label: str) -> UndoResult:
    if any(len(commit.parents) > 1 for commit in commits):
        raise UndoRefusedError(f"cannot undo {label}: it contains a merge commit")
    if _published(repo, commits[-1].sha):
        return _revert(repo, commits, label)
    return _reset(repo, commits, label)


def undo_last(repo: GitRepo) -> UndoResult:
    """Undo HEAD, which must be the agent's commit, with the wip commits of the same run
    right beneath it (the user's changes saved before that edit come back uncommitted).

    A wip commit on top (its run ended before committing an edit) is undone the same way.
    """
    head = _head_commit(repo)
    if not (head.is_agent or head.is_wip):
        raise UndoRefusedError(
            f"HEAD is {head.describe()}, not an agent commit; "
            "only the agent's last commit can be undone",
            hint="A commit made after the agent's is on top (`git log` shows it). Take an agent commit back "
                 "by hand with `git revert SHA`, or undo the newer commit first.",
        )
    commits = [head, *_wips_beneath(repo, head)]
    label = f"agent commit {head.short}" if head.is_agent else f"saved changes {head.short}"
    return _undo(repo, commits, label)


def _wips_beneath(repo: GitRepo, top: _Commit) -> list[_Commit]:
    """The wip commits of `top`'s run directly under it, newest first."""
    wips: list[_Commit] = []
    for commit in _iter_log(repo, "--first-parent", "--skip=1", top.sha):
        if not (commit.is_wip and commit.run == top.run):
            break
        wips.append(commit)
    return wips


def _latest_run(repo: GitRepo) -> str:
    """The run of the newest commit made by a run: an agent commit, or a wip commit
    left on top after its agent commit was undone."""
    for commit in _iter_log(repo, "--grep=^Agent-Run:", "HEAD"):
        if commit.run:
            return commit.run
    raise UndoRefusedError("nothing to undo: no agent commit in the history of HEAD",
                           hint="`agent log` lists the runs; their commits carry an Agent-Run: trailer.")


def _resolve_run(repo: GitRepo, given: str) -> str:
    """The full run id `given` names: itself, or the one run it is a prefix of."""
    runs: dict[str, None] = {}
    # A fixed string, since a run id given by a user may hold regex characters;
    # the trailer itself is checked below.
    for commit in _iter_log(repo, "--fixed-strings", "-i", f"--grep=Agent-Run: {given}", "HEAD"):
        if commit.run and commit.run.startswith(given):
            runs.setdefault(commit.run)
    if given in runs or len(runs) == 1:
        return given if given in runs else next(iter(runs))
    if not runs:
        raise UndoRefusedError(f"no commit of run {given} in the history of HEAD")
    named = list(runs)
    listed = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
    raise UndoRefusedError(
        f"run id {given} is ambiguous: it matches {listed}",
        hint="Give more of the run id (`agent log` lists the runs).",
    )


def _run_commits(repo: GitRepo, run_id: str) -> list[_Commit]:
    """The run's commits at the top of HEAD's first-parent history, newest first."""
    taken: list[_Commit] = []
    foreign: _Commit | None = None
    for commit in _iter_log(repo, "--first-parent", "HEAD"):
        if commit.run != run_id:
            foreign = commit
            break
        taken.append(commit)
    later = _find_run_below(repo, run_id, foreign) if foreign is not None else None
    if later is not None and foreign is not None:
        raise UndoRefusedError(
            f"run {run_id} is not at the top of the history: {foreign.describe()} "
            "was committed after it; only the newest run can be undone",
            hint="Undo the later commits first, or revert this run's commits by hand with `git revert SHA`.",
        )
    if not taken:
        raise UndoRefusedError(f"no commit of run {run_id} in the history of HEAD")
    return taken


def _find_run_below(repo: GitRepo, run_id: str, start: _Commit) -> _Commit | None:
    # A fixed string, since a run id given by a user may hold regex characters;
    # the trailer itself is checked exactly below.
    for commit in _iter_log(repo, "--fixed-strings", f"--grep=Agent-Run: {run_id}", start.sha):
        if commit.run == run_id:
            return commit
    return None


def undo_run(repo: GitRepo, run_id: str | None = None) -> UndoResult:
    """Undo every commit of a run: `run_id` or a unique prefix of it (default: the newest
    run). Its wip commits come back as uncommitted changes, even when only they are left."""
    _head_commit(repo)
    run_id = _resolve_run(repo, run_id) if run_id else _latest_run(repo)
    commits = _run_commits(repo, run_id)
    return _undo(repo, commits, f"run {run_id}")
