"""Committing what a killed run landed but did not commit, as that run's own commit.

The caller holds the repository's run lock: no run in this work tree is live then, so a run left
`running` whose process is gone was killed, and its open journal rows say what it wrote.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from once.errors import DirtyWorktreeError, VcsError
from once.events import CommitMade
from once.process import process_alive, wait_for_marked
from once.recovery.journal import journaled_paths, unsettled_edits
from once.recovery.killed import KilledRun, close_killed_run, killed_runs
from once.recovery.worktree import disk_blobs, remove_temps, reset_index, staged_blobs, wait_for_index_lock
from once.safety.regular import committed_bytes
from once.store import Store
from once.vcs import GitRepo
from once.vcs.messages import format_recovery_message, run_of

if TYPE_CHECKING:  # sorting out a killed run's edits is only needed when a run was killed
    from once.recovery.triage import Recovery


def recover_killed_runs(repo: GitRepo, store: Store, *, dirty: str) -> list[Recovery]:
    """Recover every killed run of this work tree, oldest first. With `dirty` "refuse", edits to
    commit are left as they are and reported as refused."""
    killed = killed_runs(store.conn, str(repo.root), process_alive)
    if not killed:
        return []
    # A git the killed run started goes on without it: a commit it finishes now is not made twice.
    wait_for_marked({run.pid for run in killed if run.pid is not None})
    wait_for_index_lock(repo)
    return [_recover(repo, store, run, refuse=dirty == "refuse") for run in killed]


def recover_when_idle(repo: GitRepo, store: Store, *, dirty: str) -> list[Recovery]:
    """For commands that are not runs (`agent log`): recover unless a run is live in this work tree
    (it holds the lock, and whatever is uncommitted may be its work in progress)."""
    stack = ExitStack()
    try:
        stack.enter_context(repo.lock("recovery"))
    except VcsError:
        return []
    with stack:
        return recover_killed_runs(repo, store, dirty=dirty)


def refusal(recoveries: list[Recovery]) -> DirtyWorktreeError | None:
    """The error to stop with when --dirty refuse kept a killed run's edits from being committed."""
    refused = [r for r in recoveries if r.refused]
    if not refused:
        return None
    runs = ", ".join(r.run_id for r in refused)
    files = sorted({path for r in refused for path in r.committed})
    listed = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    return DirtyWorktreeError(
        f"the killed run {runs} left its edits of {listed} uncommitted, and --dirty refuse is set, so they "
        "were not committed; stopped",
        hint="Commit or discard those files yourself, or run once with --dirty commit to commit them as the "
             "killed run's edits.")


def _recover(repo: GitRepo, store: Store, run: KilledRun, *, refuse: bool) -> Recovery:
    from once.recovery.triage import Recovery, stale_index, triage

    conn = store.conn
    edits = unsettled_edits(conn, run.id)
    temps = remove_temps(repo, journaled_paths(conn, run.id), since=run.started_at)
    sorted_out = triage(edits, disk_blobs(repo.root, [edit.path for edit in edits]))
    # A commit the run's git finished after the kill already holds some: git status tells.
    pending = sorted(repo.committable_paths(sorted_out.ours)) if sorted_out.ours else []
    # A file that holds a secret the run wrote stays out of the commit, as the run itself keeps it out.
    held = _holding_secrets(repo, pending)
    pending = [path for path in pending if path not in held]
    if pending and refuse:
        close_killed_run(conn, run.id, {}, None)  # marked killed; its edits stay open for later
        return Recovery(run.id, pending, changed=sorted_out.changed, temps=temps, refused=True)
    unstaged = stale_index(edits, staged_blobs(repo, [edit.path for edit in edits]), set(pending))
    reset_index(repo, unstaged)
    turn = max((edit.turn for edit in edits), default=0)
    done = [path for path in sorted_out.ours if path not in pending]
    counted = _count_finished_commit(repo, store, run, done, turn)
    sha = _commit(repo, store, run, pending, turn) if pending else None
    outcomes = {path: "committed" for path in done}
    outcomes.update({path: "recovered" for path in pending})
    outcomes.update({path: "unlanded" for path in sorted_out.unlanded})
    outcomes.update({path: "changed" for path in sorted_out.changed})
    outcomes.update({path: "kept" for path in held})  # kept out on purpose, like the run does
    close_killed_run(conn, run.id, outcomes, sha, commits=counted + (1 if sha else 0))
    return Recovery(run.id, pending, sha=sha, changed=sorted_out.changed, unstaged=unstaged, temps=temps,
                    secrets=held)


def _holding_secrets(repo: GitRepo, paths: list[str]) -> list[str]:
    from once.safety.secrets import new_secret_kinds

    held = []
    for path in paths:
        data = committed_bytes(repo.root / path)
        if data is None:
            continue
        if new_secret_kinds(repo.head_bytes(path), data):
            held.append(path)
    return held


def _count_finished_commit(repo: GitRepo, store: Store, run: KilledRun, files: list[str], turn: int) -> int:
    """The run's own commit that git finished after the kill (HEAD, with its Agent-Run trailer) is
    logged on the run like any of its commits, unless the run logged it itself; 1 when it was not."""
    head = repo.head_sha() if files else None
    if head is None or run_of(repo.commit_message(head)) != run.id:
        return 0
    if any(event.get("sha") == head for event in store.run_events(run.id) if event.get("type") == "commit"):
        return 0  # the run logged (and counted) it before the kill
    subject = repo.commit_message(head).splitlines()[0]
    store.append_event(CommitMade(run_id=run.id, turn=turn, sha=head, subject=subject, files=files))
    return 1


def _commit(repo: GitRepo, store: Store, run: KilledRun, files: list[str], turn: int) -> str:
    message = format_recovery_message(run.id, run.model, files)
    try:
        sha = repo.commit_committable(files, message)
    except VcsError as exc:
        raise VcsError(f"could not commit the edits of killed run {run.id}: {exc.message}", hint=exc.hint) from exc
    store.append_event(CommitMade(run_id=run.id, turn=turn, sha=sha, subject=message.splitlines()[0], files=files))
    return sha
