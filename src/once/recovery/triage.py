"""What to do with each edit a killed run recorded but did not commit. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from once.recovery.journal import JournaledEdit


@dataclass(frozen=True)
class Triage:
    ours: list[str]
    """The file on disk is what the run wrote: commit it (unless a commit already holds it)."""
    unlanded: list[str]
    """The file is as it was before the edit: the kill came before the write."""
    changed: list[str]
    """Something else is on disk: changed since the run, so it is left alone and reported."""


def triage(edits: list[JournaledEdit], disk: dict[str, str | None]) -> Triage:
    """Sort `edits` by the blob now on disk at each path (`disk`; None: no file)."""
    ours, unlanded, changed = [], [], []
    for edit in edits:
        now = disk.get(edit.path)
        if now == edit.new_blob:
            ours.append(edit.path)
        elif now == edit.old_blob:
            unlanded.append(edit.path)
        else:
            changed.append(edit.path)
    return Triage(ours, unlanded, changed)


def stale_index(edits: list[JournaledEdit], staged: dict[str, str | None], committed: set[str]) -> list[str]:
    """Paths whose staged entry is what the run wrote (it was killed between `git add` and the
    commit) while the work tree no longer is: their index goes back to HEAD. `staged` maps each
    path whose index differs from HEAD to its index blob (None: removed from the index)."""
    return [edit.path for edit in edits
            if edit.path not in committed and edit.path in staged and staged[edit.path] == edit.new_blob]


@dataclass(frozen=True)
class Recovery:
    """What recovering one killed run did (or, refused, would have done)."""

    run_id: str
    committed: list[str]
    """Files committed as the run's (with --dirty refuse: the files left uncommitted)."""
    sha: str | None = None
    changed: list[str] = field(default_factory=list)
    unstaged: list[str] = field(default_factory=list)
    temps: list[str] = field(default_factory=list)
    refused: bool = False
    secrets: list[str] = field(default_factory=list)
    """Files the run wrote a secret into: left on disk, uncommitted, as the run itself would."""


def describe(recovery: Recovery) -> list[str]:
    """One line per thing a user should know, for the terminal or a warning event."""
    run, lines = recovery.run_id, []
    if recovery.refused:
        lines.append(f"run {run} was killed and left its edits of {_names(recovery.committed)} uncommitted; "
                     "--dirty refuse is set, so they were not committed")
    elif recovery.sha:
        lines.append(f"run {run} was killed before committing {_names(recovery.committed)}: "
                     f"committed now as {recovery.sha[:8]}")
    if recovery.secrets:
        lines.append(f"run {run} was killed; it wrote a secret into {_names(recovery.secrets)}: left on disk, "
                     "uncommitted")
    if recovery.changed:
        lines.append(f"run {run} was killed; {_names(recovery.changed)} changed since it wrote "
                     f"{'them' if len(recovery.changed) > 1 else 'it'}, left alone and uncommitted")
    if recovery.unstaged:
        lines.append(f"run {run} was killed with {_names(recovery.unstaged)} staged: unstaged again")
    if recovery.temps:
        lines.append(f"run {run} was killed mid-write: removed its temp files {_names(recovery.temps)}")
    return lines


def _names(paths: list[str], shown: int = 4) -> str:
    listed = ", ".join(paths[:shown])
    return listed + (f" and {len(paths) - shown} more" if len(paths) > shown else "")
