"""The words retrieval matches on: lowercased, no stopwords or numbers, lightly stemmed.

`terms` reads one text; `term_id_sets` reads a whole bank at once (the retrieval index is
built from every live entry, so each distinct word is stemmed once, not once per entry).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Iterable

_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOP = frozenset(
    """the and for with from into that this these those there here you your our their them was
    were are is be been being it its not but can could should would will shall may might must
    just also than when while which who what where why how all any some such only own same
    other more most each few both about above below after before again once then have has had
    does did doing please make sure get got let use using want need now still same""".split()
)


def terms(text: str) -> list[str]:
    """Lowercased words worth matching, with a light suffix strip (tests/test -> test)."""
    out = []
    for word in _WORD.findall(text.lower()):
        term = _term(word)
        if term is not None:
            out.append(term)
    return out


def words(text: str) -> list[str]:
    """The raw lowercased words of `text`, before stopwords and stemming."""
    return _WORD.findall(text.lower())


def is_stopword(word: str) -> bool:
    return word in _STOP or word.isdigit()


def lexical_overlap(query_terms: set[str], entry_terms: set[str] | frozenset[str]) -> float:
    """Cosine of the two term sets: 1 when equal, 0 when disjoint."""
    if not query_terms or not entry_terms:
        return 0.0
    return len(query_terms & entry_terms) / math.sqrt(len(query_terms) * len(entry_terms))


class _TermIds(dict):
    """word -> id of its term (-1 for a stopword), assigning ids to new terms as they come."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        super().__init__()
        self.vocabulary = vocabulary

    def __missing__(self, word: str) -> int:
        term = _term(word)
        value = -1 if term is None else self.vocabulary.setdefault(term, len(self.vocabulary))
        self[word] = value
        return value


def term_id_sets(texts: Iterable[str], vocabulary: dict[str, int]) -> list[set[int]]:
    """The set of term ids of each text (the same terms `terms` gives), ids from `vocabulary`,
    which grows with the terms not in it yet."""
    lookup = _TermIds(vocabulary).__getitem__  # C-level lookups: 100,000 texts make this the load's hot loop
    findall = _WORD.findall
    out = []
    for text in texts:
        found = set(map(lookup, set(findall(text.lower()))))
        found.discard(-1)
        out.append(found)
    return out


def _term(word: str) -> str | None:
    return None if word in _STOP or word.isdigit() else _stem(word)


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
