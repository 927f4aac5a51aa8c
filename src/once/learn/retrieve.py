"""Hybrid retrieval of live knowledge entries for one prompt.

Candidates come from two places: FTS5 (bm25 over title + description, the fast path at any
bank size) and, while the live bank is small enough to scan, a cached matrix of the stored
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
from dataclasses import dataclass
from typing import Any, Sequence

from once.learn.bank import LIVE_STATUSES, KnowledgeEntry, _COLUMNS

SCORE_THRESHOLD = 0.25
"""Below this an entry is not retrieved (calibrated on the hashed embedder; see the tests)."""
SEMANTIC_WEIGHT = 0.5
FTS_CANDIDATES = 32
DENSE_CANDIDATES = 16
COMMON_TERM_FRACTION = 0.05
"""A query term in more than this share of the bank (and 500+ entries) is skipped by FTS."""
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
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP or word.isdigit() or word in seen:
            continue
        seen.append(word)
        if len(seen) >= _MAX_QUERY_TERMS:
            break
    return " OR ".join(f'"{w}"' for w in seen)


def lexical_overlap(query_terms: set[str], entry_terms: set[str]) -> float:
    """Cosine of the two term sets: 1 when equal, 0 when disjoint."""
    if not query_terms or not entry_terms:
        return 0.0
    return len(query_terms & entry_terms) / math.sqrt(len(query_terms) * len(entry_terms))


def combine(semantic: float, lexical: float) -> float:
    return SEMANTIC_WEIGHT * max(0.0, semantic) + (1 - SEMANTIC_WEIGHT) * lexical


def score_texts(prompt: str, entry_texts: Sequence[str], embedder: Any) -> list[tuple[float, float, float]]:
    """(score, semantic, lexical) of each text for the prompt: what admission uses."""
    import numpy as np

    if not entry_texts:
        return []
    vectors = embedder.embed([prompt, *entry_texts])
    sims = np.asarray(vectors[1:], dtype=np.float32) @ vectors[0]
    query_terms = set(terms(prompt))
    out = []
    for text, sim in zip(entry_texts, sims):
        lexical = lexical_overlap(query_terms, set(terms(text)))
        out.append((combine(float(sim), lexical), float(sim), lexical))
    return out


def retrieve(conn: sqlite3.Connection, prompt: str, *, repo: str | None, embedder: Any, k: int = 3,
             threshold: float = SCORE_THRESHOLD, statuses: tuple[str, ...] = LIVE_STATUSES) -> list[Hit]:
    """The best live entries for `prompt` (this repo's and global ones), best first, at most k."""
    if k <= 0 or not prompt.strip():
        return []
    import numpy as np

    query_vec = embedder.embed([prompt])[0]
    rowids = _fts_candidates(conn, prompt, repo, statuses)
    rowids |= _dense_candidates(conn, query_vec, repo, statuses, embedder.name)
    if not rowids:
        return []
    rows = _load(conn, sorted(rowids))
    query_terms = set(terms(prompt))
    stale = [i for i, row in enumerate(rows) if row["embedder"] != embedder.name or row["embedding"] is None]
    vectors = np.zeros((len(rows), len(query_vec)), dtype=np.float32)
    for i, row in enumerate(rows):
        if i not in stale:
            vectors[i] = np.frombuffer(row["embedding"], dtype=np.float32)
    if stale:  # stored under another embedder: recompute rather than compare unlike vectors
        vectors[stale] = embedder.embed([f"{rows[i]['title']}\n{rows[i]['description']}" for i in stale])
    sims = vectors @ query_vec
    hits = []
    for row, sim in zip(rows, sims):
        entry = KnowledgeEntry.from_row(row)
        lexical = lexical_overlap(query_terms, set(terms(entry.retrieval_text())))
        score = combine(float(sim), lexical)
        if score >= threshold:
            hits.append(Hit(entry, score, float(sim), lexical))
    hits.sort(key=lambda h: (-h.score * h.entry.weight, h.entry.id))
    return hits[:k]


def _scope_sql(repo: str | None, statuses: tuple[str, ...]) -> tuple[str, list[Any]]:
    sql = f"k.status IN ({', '.join('?' for _ in statuses)})"
    params: list[Any] = list(statuses)
    if repo is None:
        sql += " AND k.repo IS NULL"
    else:
        sql += " AND (k.repo = ? OR k.repo IS NULL)"
        params.append(repo)
    return sql, params


def _fts_candidates(conn: sqlite3.Connection, prompt: str, repo: str | None,
                    statuses: tuple[str, ...]) -> set[int]:
    query = _selective_query(conn, prompt)
    if not query:
        return set()
    scope, params = _scope_sql(repo, statuses)
    # The inner ORDER BY rank LIMIT is FTS5's own top-N: the filter then sees few rows.
    rows = conn.execute(
        "SELECT f.rowid FROM (SELECT rowid, rank FROM knowledge_fts WHERE knowledge_fts MATCH ?"
        " ORDER BY rank LIMIT ?) f JOIN knowledge k ON k.rowid = f.rowid"
        f" WHERE {scope} ORDER BY f.rank LIMIT ?", (query, FTS_CANDIDATES * 4, *params, FTS_CANDIDATES),
    ).fetchall()
    return {int(row[0]) for row in rows}


def _selective_query(conn: sqlite3.Connection, prompt: str) -> str:
    """The FTS query without terms that most of a large bank contains (their postings cost
    time in proportion to the bank, their bm25 weight is near zero)."""
    query = fts_query(prompt)
    words = [w.strip('"') for w in query.split(" OR ")] if query else []
    if not words:
        return ""
    total = conn.execute("SELECT MAX(rowid) FROM knowledge").fetchone()[0] or 0
    limit = max(500, COMMON_TERM_FRACTION * total)
    # The vocabulary holds porter stems; a few likely stems of each word are close enough here
    # (a miss only means a common word stays in the query: slower, never wrong).
    common = set()
    for word in words:
        forms = {word, _stem(word), word.rstrip("s")}
        marks = ", ".join("?" for _ in forms)
        row = conn.execute(f"SELECT MAX(doc) FROM knowledge_vocab WHERE term IN ({marks})", tuple(forms)).fetchone()
        if row[0] is not None and row[0] > limit:
            common.add(word)
    return " OR ".join(f'"{w}"' for w in words if w not in common)


def _load(conn: sqlite3.Connection, rowids: list[int]) -> list[sqlite3.Row]:
    cols = ", ".join(_COLUMNS)
    out: list[sqlite3.Row] = []
    for start in range(0, len(rowids), 500):
        chunk = rowids[start:start + 500]
        out += conn.execute(f"SELECT {cols}, embedding FROM knowledge WHERE rowid IN"
                            f" ({', '.join('?' for _ in chunk)})", chunk).fetchall()
    return out


# -- the dense path: a matrix of live embeddings, cached while the bank does not change ----

_DENSE_CACHE: dict[tuple[str, str | None, tuple[str, ...], str], tuple[tuple[Any, ...], Any, Any]] = {}


def _db_key(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) or f"memory:{id(conn)}"


def _dense_candidates(conn: sqlite3.Connection, query_vec: Any, repo: str | None,
                      statuses: tuple[str, ...], embedder_name: str) -> set[int]:
    scope, params = _scope_sql(repo, statuses)
    row = conn.execute("SELECT value FROM learn_meta WHERE key = 'bank_version'").fetchone()
    key = (_db_key(conn), repo, statuses, embedder_name)
    cached = _DENSE_CACHE.get(key)
    if cached is None or cached[0] != (row[0] if row else None):
        count = conn.execute(f"SELECT COUNT(*) FROM knowledge k WHERE {scope}", params).fetchone()[0]
        matrix = _dense_matrix(conn, scope, params, embedder_name, len(query_vec)) if count <= DENSE_SCAN_MAX \
            else (None, None)
        cached = (row[0] if row else None, *matrix)
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
