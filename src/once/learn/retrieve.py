"""Hybrid retrieval of live knowledge entries for one prompt.

Candidates come from an in-memory index of the live bank that ranks every entry by the score
below (exactly for small banks, with projected embeddings for large ones: see
`once.learn.bank_index`), and from FTS5 for entries the index lacks (stored under another
embedder; bm25 over a query pruned to a bounded cost: see `once.learn.candidates`). Each
candidate is then scored exactly, on an absolute scale (0..1), so one threshold means the
same thing in a bank of 3 entries or 100,000:

    score = SEMANTIC_WEIGHT * cosine(prompt, entry) + (1 - SEMANTIC_WEIGHT) * term overlap

bm25 only picks candidates: its values depend on the bank's size and say nothing absolute.
"""

from __future__ import annotations

import functools
import math
import sqlite3
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

from once.learn.bank import LIVE_STATUSES, KnowledgeEntry, _COLUMNS
from once.learn.bank_index import bank_index, matvec
from once.learn.candidates import fts_candidates
from once.learn.lexical import is_stopword, lexical_overlap, terms, words

__all__ = ["Hit", "retrieve", "terms", "lexical_overlap", "combine", "score_texts", "score_prompts",
           "query_words", "fts_query", "semantic_floor", "prompt_vector"]

SCORE_THRESHOLD = 0.25
"""Below this an entry is not retrieved (calibrated on the hashed embedder; see the tests)."""
SEMANTIC_WEIGHT = 0.5
SEMANTIC_FLOOR = {"minilm": 0.3}
"""Cosine that unrelated texts commonly reach, per embedder family: similarity is rescaled from
there, so the threshold means the same with either embedder. MiniLM puts unrelated short texts
at 0.2-0.5 (hashed n-grams near 0); without this, MiniLM let unrelated prompts through."""
EXACT_CANDIDATES = 16
"""Candidates from the in-memory index when its scores are exact (a bank small enough to keep
whole vectors): a margin over k for ties and entries changed meanwhile."""
APPROX_CANDIDATES = 128
"""Candidates when the index's cosines are approximate (projected): scored exactly afterwards."""
_MAX_QUERY_TERMS = 32


@dataclass(frozen=True)
class Hit:
    entry: KnowledgeEntry
    score: float
    semantic: float
    lexical: float


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the text's distinct words (quoted, so no word is an operator)."""
    return " OR ".join(f'"{w}"' for w in query_words(text))


def semantic_floor(embedder_name: str) -> float:
    for prefix, floor in SEMANTIC_FLOOR.items():
        if embedder_name.startswith(prefix):
            return floor
    return 0.0


def combine(semantic: float, lexical: float, floor: float = 0.0) -> float:
    rescaled = max(0.0, semantic - floor) / (1.0 - floor)
    return SEMANTIC_WEIGHT * rescaled + (1 - SEMANTIC_WEIGHT) * lexical


def score_texts(prompt: str, entry_texts: Sequence[str], embedder: Any) -> list[tuple[float, float, float]]:
    """(score, semantic, lexical) of each text for the prompt: what admission uses."""
    import numpy as np

    if not entry_texts:
        return []
    vectors = embedder.embed([prompt, *entry_texts])
    sims = np.asarray(vectors[1:], dtype=np.float32) @ vectors[0]
    query_terms = set(terms(prompt))
    floor = semantic_floor(embedder.name)
    out = []
    for text, sim in zip(entry_texts, sims):
        lexical = lexical_overlap(query_terms, set(terms(text)))
        out.append((combine(float(sim), lexical, floor), float(sim), lexical))
    return out


def score_prompts(entry_text: str, prompts: Sequence[str], embedder: Any) -> list[float]:
    """The score of one entry for each prompt, as `score_texts` gives it, in one embedding batch
    (admission scores an entry against hundreds of prompts)."""
    import numpy as np

    if not prompts:
        return []
    vectors = np.asarray(embedder.embed([entry_text, *prompts]), dtype=np.float32)
    sims = vectors[1:] @ vectors[0]
    entry_terms = set(terms(entry_text))
    floor = semantic_floor(embedder.name)
    return [combine(float(sim), lexical_overlap(set(terms(prompt)), entry_terms), floor)
            for prompt, sim in zip(prompts, sims)]


def query_words(text: str) -> list[str]:
    """The text's distinct words as FTS5 should see them (lowercased, no stopwords, at most 32)."""
    seen: list[str] = []
    for word in words(text):
        if is_stopword(word) or word in seen:
            continue
        seen.append(word)
        if len(seen) >= _MAX_QUERY_TERMS:
            break
    return seen


def retrieve(conn: sqlite3.Connection, prompt: str, *, repo: str | None, embedder: Any, k: int = 3,
             threshold: float = SCORE_THRESHOLD, statuses: tuple[str, ...] = LIVE_STATUSES) -> list[Hit]:
    """The best live entries for `prompt` (this repo's and global ones), best first, at most k."""
    if k <= 0 or not prompt.strip():
        return []
    query_vec = prompt_vector(embedder, prompt)
    query_terms = set(terms(prompt))
    floor = semantic_floor(embedder.name)
    index = bank_index(conn, statuses, embedder.name, len(query_vec))
    limit = max(4 * k, EXACT_CANDIDATES if index.exact else APPROX_CANDIDATES)
    counts = index.candidates(query_vec, query_terms, repo, limit, SEMANTIC_WEIGHT, floor)
    rowids = set(counts)
    if index.unindexed:  # entries without a comparable embedding are found by their words
        rowids |= fts_candidates(conn, query_words(prompt), repo, statuses)
    if not rowids:
        return []
    rows = _load_for_scoring(conn, sorted(rowids))
    sims = _similarities(rows, query_vec, embedder)
    scored = []
    for row, sim in zip(rows, sims):
        lexical = _lexical(query_terms, row, counts.get(row["rowid"]))
        score = combine(float(sim), lexical, floor)
        if score >= threshold:
            scored.append((row, score, float(sim), lexical))
    scored.sort(key=lambda s: (-s[1] * s[0]["weight"], s[0]["id"]))
    scored = scored[:k]
    # Only the entries that made the cut are read in full.
    entries = _load_entries(conn, [row["rowid"] for row, *_ in scored])
    return [Hit(entries[row["rowid"]], score, sim, lexical) for row, score, sim, lexical in scored
            if row["rowid"] in entries]  # an entry removed meanwhile by another process is skipped


def prompt_vector(embedder: Any, prompt: str) -> Any:
    """The prompt's embedding, remembered per embedder for a few prompts (a turn may retrieve
    for the same prompt more than once: injection, then `--as-prompt` or admission)."""
    try:
        cache = _PROMPT_VECTORS.setdefault(embedder, {})
    except TypeError:  # an embedder that cannot be weakly referenced is simply not cached
        return embedder.embed([prompt])[0]
    vector = cache.get(prompt)
    if vector is None:
        if len(cache) >= _PROMPT_CACHE_MAX:
            cache.pop(next(iter(cache)))
        vector = cache[prompt] = embedder.embed([prompt])[0]
    return vector


_PROMPT_VECTORS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_PROMPT_CACHE_MAX = 16


def _lexical(query_terms: set[str], row: sqlite3.Row, counts: tuple[int, int] | None) -> float:
    """`lexical_overlap` of the query and the entry: from the index's counts when it has them
    (the same terms, counted at load), else from the entry's text."""
    if counts is None:
        return lexical_overlap(query_terms, _term_set(row["title"], row["description"]))
    shared, size = counts
    return shared / math.sqrt(len(query_terms) * size) if shared else 0.0


@functools.lru_cache(maxsize=16_384)
def _term_set(title: str, description: str) -> frozenset[str]:
    """An entry's terms: recomputed only when its text is new to this process."""
    return frozenset(terms(f"{title}\n{description}"))


def _similarities(rows: list[sqlite3.Row], query_vec: Any, embedder: Any) -> Any:
    import numpy as np

    stale = [i for i, row in enumerate(rows) if row["embedder"] != embedder.name or row["embedding"] is None
             or len(row["embedding"]) != len(query_vec) * 4]
    vectors = np.zeros((len(rows), len(query_vec)), dtype=np.float32)
    skip = set(stale)
    for i, row in enumerate(rows):
        if i not in skip:
            vectors[i] = np.frombuffer(row["embedding"], dtype=np.float32)
    if stale:  # stored under another embedder: recompute rather than compare unlike vectors
        vectors[stale] = embedder.embed([f"{rows[i]['title']}\n{rows[i]['description']}" for i in stale])
    return matvec(vectors, np.asarray(query_vec, dtype=np.float32))


def _load_for_scoring(conn: sqlite3.Connection, rowids: list[int]) -> list[sqlite3.Row]:
    out: list[sqlite3.Row] = []
    for start in range(0, len(rowids), 500):
        chunk = rowids[start:start + 500]
        out += conn.execute("SELECT rowid, id, title, description, weight, embedding, embedder FROM knowledge"
                            f" WHERE rowid IN ({', '.join('?' for _ in chunk)})", chunk).fetchall()
    return out


def _load_entries(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, KnowledgeEntry]:
    if not rowids:
        return {}
    rows = conn.execute(f"SELECT rowid AS rid, {', '.join(_COLUMNS)} FROM knowledge"
                        f" WHERE rowid IN ({', '.join('?' for _ in rowids)})", rowids).fetchall()
    return {int(row["rid"]): KnowledgeEntry.from_row(row) for row in rows}
