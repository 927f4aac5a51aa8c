"""Counts, statuses and costs as words a person reads: `1 run`, `2 entries`, `cost unknown`."""

from __future__ import annotations

_ES_ENDINGS = ("s", "x", "z", "ch", "sh")

STATUS_WORDS = {
    "max_turns": "turn limit reached",
    "max_cost": "cost limit reached",
    "checks_failed": "checks failing",
    "plan_incomplete": "plan steps left",
    "replay_mismatch": "replay mismatch",
}
"""Statuses whose stored name is a code word; the others (done, error, ...) read as they are."""
STEP_WORDS = {"started": "in progress", "not_done": "not done"}
"""A plan step's statuses that read otherwise than a run's."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` and `word` in the right number: `1 run`, `3 runs`, `2 entries`, `0 matches`.

    `many` is the plural when the usual English endings do not give it.
    """
    if n == 1:
        return f"{n} {word}"
    return f"{n} {many or _plural_form(word)}"


def _plural_form(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(_ES_ENDINGS):
        return word + "es"
    return word + "s"


def status_words(status: str) -> str:
    """A run's status as words: `plan_incomplete` reads `plan steps left`."""
    return STATUS_WORDS.get(status, status.replace("_", " "))


def step_words(status: str) -> str:
    """A plan step's status as words: `not_done` reads `not done`."""
    return STEP_WORDS.get(status) or status_words(status)


def cost_text(cost_usd: float | None, unknown: str = "cost unknown", *, provider: str | None = None) -> str:
    """A run's cost. Zero means the price is unknown (a local model) or, for a replay, that nothing
    was billed: `$0.0000` would read as a real figure."""
    if provider == "replay":
        return "not billed (replayed)"
    if not cost_usd:
        return unknown
    return f"${cost_usd:.4f}"
