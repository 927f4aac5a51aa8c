"""Turning paths, identifiers and prose into search terms (pure).

The index and the query go through the same functions, so `parse_args`, `parseArgs`
and "parse the args" meet on the terms `parse` and `args`; an identifier of several
parts also yields its parts joined (`parseargs`), which matches the whole name
exactly whatever its casing convention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9_]+")
# Runs of capitals followed by a capitalised word (HTTPServer -> HTTP, Server),
# capitalised or lower-case words, remaining capitals, digits.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does doing done for from had has have
    having he her here him his how i if in into is it its itself just me more most my no nor not
    now of off on once only or other our out over own same she should so some such than that the
    their them then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours also any each few
    all both after again against before below above between during about because get got use used
    using way make made like want see seems seem following follows however instead still even
    e g eg ie etc one two new way work works working thing things something let lets
    self cls none true false def return pass import py""".split()
)


def split_identifier(word: str) -> list[str]:
    """`parse_args` -> [parse, args]; `HTTPServer2` -> [http, server, 2]; lower-cased."""
    return [part.lower() for piece in word.split("_") if piece for part in _PART.findall(piece)]


def _keep(term: str) -> bool:
    return len(term) > 1 and term not in STOPWORDS and not term.isdigit()


@lru_cache(maxsize=65536)
def word_terms(word: str) -> tuple[str, ...]:
    """The terms of one identifier: its parts, and the parts joined when there are several."""
    parts = split_identifier(word)
    terms = [part for part in parts if _keep(part)]
    if len(parts) > 1:
        joined = "".join(parts)
        if _keep(joined):
            terms.append(joined)
    return tuple(terms)


def text_terms(text: str) -> list[str]:
    """Every term of a text, in order, repeats kept (term frequency matters to BM25)."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(word_terms(word))
    return out


def path_terms(path: str) -> list[str]:
    """A path's terms: directories and the file name split on / _ - . and camelCase."""
    return text_terms(path.replace("-", " ").replace(".", " ").replace("/", " "))


def unique(terms: Iterable[str]) -> list[str]:
    """First occurrences only, order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for term in terms:
        if term not in seen:
            seen.add(term)
            out.append(term)
    return out
