"""Hybrid retrieval of live knowledge entries for one prompt.

Candidates come from two places: FTS5 (bm25 over title + description, over a query pruned
to a bounded cost: see `once.learn.candidates`) and, while the live bank is small enough to scan, a cached matrix of the stored
embeddings (paraphrases that share no word). Each candidate is scored on an absolute scale
(0..1) so one threshold means the same thing in a bank of 3 entries or 100,000:

    score = SEMANTIC_WEIGHT * cosine(prompt, entry) + (1 - SEMANTIC_WEIGHT) * term overlap

bm25 only picks candidates: its values depend on the bank's size and say nothing absolute.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

from once.learn.bank import LIVE_STATUSES, KnowledgeEntry, _COLUMNS
from once.learn.candidates import bank_generation, db_key, fts_candidates, scope_sql

SCORE_THRESHOLD = 0.25
"""Below this an entry is not retrieved (calibrated on the hashed embedder; see the tests)."""
SEMANTIC_WEIGHT = 0.5
SEMANTIC_FLOOR = {"minilm": 0.3}
"""Cosine that unrelated texts commonly reach, per embedder family: similarity is rescaled from
there, so the threshold means the same with either embedder. MiniLM puts unrelated short texts
at 0.2-0.5 (hashed n-grams near 0); without this, MiniLM let unrelated prompts through."""
DENSE_CANDIDATES = 16
DENSE_SCAN_MAX = 20_000
"""Above this many live entries the dense scan is skipped: FTS alone supplies candidates."""
_MAX_QUERY_TERMS = 32
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOP = frozenset(
    """the and for with from into that this these those there here you your our their them was
    were are is be been being it its not but can could should would will shall may might must
    just also than when while which who what where why how all any some such only own same
    other more most each few both about above below after before again once then have has had
    does did doing please make sure get got let use using want need now still same""".split()
)


@dataclass(frozen=True)
class Hit:
    entry: KnowledgeEntry
    score: float
    semantic: float
    lexical: float


def terms(text: str) -> list[str]:
    """Lowercased words worth matching, with a light suffix strip (tests/test -> test)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP or word.isdigit():
            continue
        out.append(_stem(word))
    return out


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the text's distinct words (quoted, so no word is an operator)."""
    return " OR ".join(f'"{w}"' for w in query_words(text))


def lexical_overlap(query_terms: set[str], entry_terms: set[str]) -> float:
    """Cosine of the two term sets: 1 when equal, 0 when disjoint."""
    if not query_terms or not entry_terms:
        return 0.0
    return len(query_terms & entry_terms) / math.sqrt(len(query_terms) * len(entry_terms))


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
    for word in _WORD.findall(text.lower()):
        if word in _STOP or word.isdigit() or word in seen:
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
    rowids = fts_candidates(conn, query_words(prompt), repo, statuses)
    rowids |= _dense_candidates(conn, query_vec, repo, statuses, embedder.name)
    if not rowids:
        return []
    rows = _load_for_scoring(conn, sorted(rowids))
    sims = _similarities(rows, query_vec, embedder)
    query_terms = set(terms(prompt))
    floor = semantic_floor(embedder.name)
    scored = []
    for row, sim in zip(rows, sims):
        lexical = lexical_overlap(query_terms, _term_set(row["title"], row["description"]))
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
    return vectors @ query_vec


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


# -- the dense path: a matrix of live embeddings, cached while the bank does not change ----

_DENSE_CACHE: dict[tuple[str, str | None, tuple[str, ...], str], tuple[Any, Any, Any]] = {}
_DENSE_CACHE_MAX = 8


def _dense_candidates(conn: sqlite3.Connection, query_vec: Any, repo: str | None,
                      statuses: tuple[str, ...], embedder_name: str) -> set[int]:
    scope, params = scope_sql(repo, statuses)
    generation = bank_generation(conn)
    key = (db_key(conn), repo, statuses, embedder_name)
    cached = _DENSE_CACHE.get(key)
    if cached is None or cached[0] != generation:
        count = conn.execute(f"SELECT COUNT(*) FROM knowledge k WHERE {scope}", params).fetchone()[0]
        matrix = _dense_matrix(conn, scope, params, embedder_name, len(query_vec)) if count <= DENSE_SCAN_MAX \
            else (None, None)
        cached = (generation, *matrix)
        if len(_DENSE_CACHE) >= _DENSE_CACHE_MAX:
            _DENSE_CACHE.clear()
        _DENSE_CACHE[key] = cached
    _, rowids, matrix = cached
    if rowids is None or len(rowids) == 0:
        return set()
    import numpy as np

    sims = matrix @ query_vec
    top = min(DENSE_CANDIDATES, len(sims))
    best = np.argpartition(-sims, top - 1)[:top]
    return {int(rowids[i]) for i in best}


def _dense_matrix(conn: sqlite3.Connection, scope: str, params: list[Any], embedder_name: str,
                  dim: int) -> tuple[Any, Any]:
    import numpy as np

    rows = conn.execute(f"SELECT k.rowid, k.embedding FROM knowledge k WHERE {scope} AND k.embedder = ?"
                        " AND k.embedding IS NOT NULL", (*params, embedder_name)).fetchall()
    rows = [row for row in rows if len(row[1]) == dim * 4]
    rowids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dim)
    return rowids, matrix
