"""Comparing corrections by their words: fingerprints, near-duplicates, contradictions. Pure."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"[a-z0-9][a-z0-9_.+#'-]*")
NEGATIONS = frozenset({
    "not", "no", "never", "dont", "don't", "doesnt", "doesn't", "avoid", "stop", "without", "nor",
    "shouldnt", "shouldn't", "mustnt", "mustn't", "cannot", "can't", "cant", "isnt", "isn't", "disable",
})
STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "to", "of", "in", "on", "for", "with", "be", "is", "are", "it", "this",
    "that", "we", "you", "i", "please", "always", "should", "must", "do", "does", "use", "using", "when",
    "at", "by", "as", "from", "our", "your", "my", "here", "there", "so", "but", "instead", "rather",
    "than", "over", "prefer", "make", "sure", "just", "only", "all", "any", "also", "again", "will",
})
_SWAP = re.compile(r"(?:use|prefer)\s+([\w.+#-]+)\s+(?:instead of|over|rather than|not)\s+([\w.+#-]+)")

NEAR_DUPLICATE = 0.85
"""Word-set overlap (Jaccard) above which two corrections say the same thing."""
SAME_TOPIC = 0.6
"""Share of the shorter correction's topic words the longer one also has."""


def words(text: str) -> list[str]:
    # A sentence's final period is not part of its last word ("committing." == "committing").
    found = (w.rstrip(".-") for w in _WORD.findall(text.lower().replace("’", "'")))
    return [w for w in found if w]


def normalize(text: str) -> str:
    """Lowercase words only: punctuation, case and spacing do not make a new lesson."""
    return " ".join(words(text))


def fingerprint(target: str, text: str) -> str:
    return hashlib.sha256(f"{target}\x1f{normalize(text)}".encode("utf-8")).hexdigest()[:24]


def topic_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and w not in NEGATIONS}


def negative(text: str) -> bool:
    return any(w in NEGATIONS for w in words(text))


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' word sets (0..1)."""
    left, right = set(words(a)), set(words(b))
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def near_duplicate(a: str, b: str) -> bool:
    """Same lesson in other words; never true for two that contradict each other."""
    if normalize(a) == normalize(b):
        return True
    return similarity(a, b) >= NEAR_DUPLICATE and not contradicts(a, b)


def contradicts(new: str, old: str) -> bool:
    """True when `new` reverses `old`: same topic, opposite polarity ("use tabs" / "never use
    tabs"), or a swapped preference ("use X instead of Y" / "use Y instead of X")."""
    swap_new, swap_old = _SWAP.search(new.lower()), _SWAP.search(old.lower())
    if swap_new and swap_old and swap_new.groups() == tuple(reversed(swap_old.groups())):
        return True
    a, b = topic_words(new), topic_words(old)
    if not a or not b:
        return False
    overlap = len(a & b) / min(len(a), len(b))
    return overlap >= SAME_TOPIC and negative(new) != negative(old)
