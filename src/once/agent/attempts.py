"""Fresh attempts: a small model whose edit and fix fail the checks starts the task over.

Shown its failing check, a small model mostly repeats its first wrong idea; asked again from
the start, sampled, and told what failed, it often writes a different and right one. The failed
attempt's commits are undone first (they are the run's own; the user's saved changes come
back as they were), so each attempt starts from the tree the user had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from once.events import AttemptDiscarded
from once.words import plural

if TYPE_CHECKING:
    from once.vcs.undo import UndoResult
    from once.verify import CheckOutcome

FAILED_CHECKS_BEFORE_AFRESH = 2
"""The attempt's edit failed the checks, and so did its one fix: start over. (A near miss, such as a
missing `.lower()`, is fixed from the failing check; a wrong idea is repeated, fix after fix.)"""
FRESH_TEMPERATURE = 0.4
"""Sampling for a fresh attempt: a different answer, without the runaway replies of hotter sampling."""
DEFAULT_LEAN_ATTEMPTS = 3


@dataclass
class FreshAttempts:
    """How many attempts a run may make, and how to undo the current one."""

    limit: int
    """Attempts in all (1: never start over)."""
    discard: Callable[[], UndoResult | None]
    """Undoes the run's commits; None when they cannot be undone (then the attempt goes on)."""
    number: int = 1
    """The attempt under way."""

    @property
    def left(self) -> int:
        return self.limit - self.number


def caused_by_attempt(failing: list[CheckOutcome], before: list[CheckOutcome]) -> bool:
    """Whether the attempt can be blamed for the failing checks: not when a check that ran no test fails
    as it did before any edit (pytest missing, a broken setup), which no fresh attempt mends."""
    failed_before = {o.signature for o in before if not o.passed}
    return any(o.failed_count or o.passed_count or o.signature not in failed_before for o in failing)


def restart_note(reason: str) -> str:
    """What the model is told when the task starts again."""
    return ("An earlier attempt at this task was undone, because " + reason.rstrip(".") + ".\n"
            "Solve the task again from the start, with a different approach if the first one was wrong. "
            "Before you write the code, check it by hand against the task's examples.")


def describe_discarded(event: AttemptDiscarded) -> str:
    """One line for the progress output and the app's details."""
    count = len(event.shas)
    undone = f", {plural(count, 'commit')} undone" if count else ""
    reason = " ".join(event.reason.split())
    reason = reason if len(reason) <= 100 else reason[:99] + "…"
    return f"attempt {event.attempt} given up{undone}: {reason}; starting over"
