"""Whether a run that stops has done its work: no "done" without the change, and no
endless repeats of a call that keeps failing. Pure functions and one small counter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from once.lazyre import LazyPattern

_CHANGE_VERBS = (
    "add|adds|fix|fixes|create|implement|write|rename|change|update|remove|delete|refactor|make|replace|move|"
    "convert|modify|edit|rewrite|insert|append|bump|correct|handle|support|raise|return|extract|split|"
    "merge|introduce|drop|port|translate|format|reformat|document|annotate|type|wire|register|expose|set"
)
_CHANGE = LazyPattern(rf"\b({_CHANGE_VERBS})\b", re.IGNORECASE)
_POLITE = LazyPattern(r"^\s*(please\b|can you\b|could you\b|would you\b|will you\b)", re.IGNORECASE)
_CLAIMS = LazyPattern(
    r"\b(I(?:'ve| have)?|we(?:'ve| have)?)\s+(?:now\s+|also\s+|just\s+)?"
    r"(added|fixed|created|updated|changed|renamed|modified|implemented|wrote|written|removed|replaced|moved|"
    r"refactored|edited|corrected|rewritten|inserted)\b"
    r"|\b(has|have) (?:now )?been (added|fixed|created|updated|changed|renamed|modified|implemented|removed|"
    r"replaced|corrected|rewritten|inserted)\b"
    r"|\b(is|are) now (fixed|added|implemented|updated|renamed|corrected)\b",
    re.IGNORECASE,
)


def asks_for_change(prompt: str) -> bool:
    """The prompt asks for a change to the code (not a question about it)."""
    if not _CHANGE.search(prompt):
        return False
    question = prompt.rstrip().endswith("?")
    return not question or bool(_POLITE.match(prompt))


def claims_change(text: str) -> bool:
    """The answer says a change was made ("I added ...", "has been fixed")."""
    return bool(_CLAIMS.search(text))


@dataclass(frozen=True)
class Missing:
    reason: str
    """For the run's result: why it is incomplete."""
    message: str
    """For the model: what to do about it."""


def missing_work(prompt: str, answer: str, changed: bool) -> Missing | None:
    """What is missing when a run stops without changing anything, or None."""
    if changed:
        return None
    if claims_change(answer):
        return Missing("the answer claims a change, but no file was changed",
                       "Your answer says the change was made, but no file was changed in this run: a change "
                       "happens only through an edit. Make the edit now, or say plainly that nothing needed to "
                       "change and why.")
    if asks_for_change(prompt):
        return Missing("the task asks for a change, but no file was changed",
                       "No file was changed in this run, but the task asks for a change. Make the change now "
                       "with an edit, or say plainly that nothing needs to change and why.")
    return None


@dataclass
class RepeatGuard:
    """The same call failing the same way (or returning the same output), again and again, with no
    file changed in between: a hint the second time, a stop the third."""

    hint_at: int = 2
    stop_at: int = 3
    counts: dict[str, int] = field(default_factory=dict)

    def observe(self, failures: list[str], changed: bool) -> tuple[str | None, str | None]:
        """(a hint for the model, or why the run must stop) after one turn."""
        if changed:
            self.counts = {}  # the code moved on: an old failure may now be worth retrying
        hint = stop = None
        for key in dict.fromkeys(failures):
            self.counts[key] = count = self.counts.get(key, 0) + 1
            if count >= self.stop_at:
                stop = f"the same call gave the same result {count} times: {key}"
            elif count >= self.hint_at:
                hint = (f"You have made this same call {count} times and got the same result; repeating it will "
                        "not help. Do something different: make the change the task asks for, fix what the "
                        "error says, or, if the task is done, say so.")
        return hint, stop
