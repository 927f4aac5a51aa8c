"""Lexical candidates for retrieval: FTS5 bm25 over a query planned for a bounded cost.

bm25 is computed for every row a query matches, so `MATCH ... ORDER BY rank` costs in
proportion to the postings of its terms: an OR over a prompt word found in 20% of a
100,000-entry bank ranks ~20,000 rows, to add almost nothing. So the query is planned from
each word's document frequency (counted up to a cap, so a common word costs no more than
the cap):

- the rare words, rarest first while their postings stay within a budget, decide which
  rows match (the rows that get ranked);
- the other words, unless nearly every entry has them, only rank those rows:
  `(rare) AND (rare OR other)`. Among 300 entries sharing one rare word, the one that
  also shares the prompt's commoner words comes first, at the price of a cheap scan.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Sequence

COMMON_TERM_FRACTION = 0.05
"""A word in more than this share of the bank (and more than COMMON_TERM_MIN entries) is skipped."""
COMMON_TERM_MIN = 500
POSTING_BUDGET = 4_000
"""At most this many postings (summed document frequencies) are ranked per prompt, beyond the
rarest word: it bounds the bm25 work, whatever the bank's size."""
RANKING_TERM_FRACTION = 0.30
"""A word in more than this share of the bank does not even rank: it tells entries apart too little."""
FTS_CANDIDATES = 32
_DF_CACHE_MAX = 4_096
_DF_CACHE: dict[tuple[str, Any], dict[str, float]] = {}


def scope_sql(repo: str | None, statuses: tuple[str, ...]) -> tuple[str, list[Any]]:
    """The WHERE clause (over `knowledge k`) for entries of these statuses in this repo or global."""
    sql = f"k.status IN ({', '.join('?' for _ in statuses)})"
    params: list[Any] = list(statuses)
    if repo is None:
        sql += " AND k.repo IS NULL"
    else:
        sql += " AND (k.repo = ? OR k.repo IS NULL)"
        params.append(repo)
    return sql, params


def common_cap(bank_rows: int) -> int:
    return max(COMMON_TERM_MIN, int(COMMON_TERM_FRACTION * bank_rows))


@dataclass(frozen=True)
class QueryPlan:
    matching: list[str]
    """Rare words: an entry must have one of them to be a candidate."""
    ranking: list[str]
    """Commoner words that only order the matching entries."""

    def expression(self) -> str:
        """The FTS5 query (words quoted, so none is an operator); "" when nothing matches."""
        if not self.matching:
            return ""
        rare = _any_of(self.matching)
        return f"({rare}) AND ({rare} OR {_any_of(self.ranking)})" if self.ranking else rare


def _any_of(words: Sequence[str]) -> str:
    return " OR ".join(f'"{w}"' for w in words)


def plan_query(words: Sequence[str], doc_freq: dict[str, float], bank_rows: int,
               budget: int | None = None) -> QueryPlan:
    """Split the prompt's words (original order kept) into matching and ranking words: matching
    ones have at most `common_cap` documents and are taken rarest first while the summed
    postings stay within `budget` (the rarest is always taken, so one telling word still
    finds its entries); the rest rank, unless absent or in most of the bank."""
    budget = POSTING_BUDGET if budget is None else budget
    cap = common_cap(bank_rows)
    ranked = sorted((doc_freq.get(w, 0), i, w) for i, w in enumerate(words))
    matching: set[str] = set()
    spent = 0.0
    for df, _, word in ranked:
        if df <= 0 or df > cap or (matching and spent + df > budget):
            continue
        matching.add(word)
        spent += df
    ranking_max = RANKING_TERM_FRACTION * bank_rows
    return QueryPlan(matching=[w for w in words if w in matching],
                     ranking=[w for w in words if w not in matching and 0 < doc_freq.get(w, 0) <= ranking_max])


def bank_generation(conn: sqlite3.Connection) -> tuple[Any, Any]:
    """What in-process caches of the bank compare: the version every Bank write bumps, and the
    highest rowid (rows inserted in bulk, outside the Bank, move it)."""
    row = conn.execute("SELECT (SELECT value FROM learn_meta WHERE key = 'bank_version'),"
                       " (SELECT MAX(rowid) FROM knowledge)").fetchone()
    return row[0], row[1]


def db_key(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) or f"memory:{id(conn)}"


def fts_candidates(conn: sqlite3.Connection, words: Sequence[str], repo: str | None,
                   statuses: tuple[str, ...], limit: int = FTS_CANDIDATES) -> set[int]:
    """Rowids of the best bm25 matches among live entries in scope (at most `limit`)."""
    if not words:
        return set()
    generation = bank_generation(conn)
    bank_rows = int(generation[1] or 0)
    query = plan_query(words, _doc_freqs(conn, words, common_cap(bank_rows), generation), bank_rows).expression()
    if not query:
        return set()
    scope, params = scope_sql(repo, statuses)
    # The inner ORDER BY rank LIMIT is FTS5's own top-N: the scope filter then sees few rows.
    rows = conn.execute(
        "SELECT f.rowid FROM (SELECT rowid, rank FROM knowledge_fts WHERE knowledge_fts MATCH ?"
        " ORDER BY rank LIMIT ?) f JOIN knowledge k ON k.rowid = f.rowid"
        f" WHERE {scope} ORDER BY f.rank LIMIT ?", (query, limit * 4, *params, limit),
    ).fetchall()
    return {int(row[0]) for row in rows}


def _doc_freqs(conn: sqlite3.Connection, words: Sequence[str], cap: int, generation: Any) -> dict[str, float]:
    """Document frequency of each word: exact up to `cap`, beyond it estimated from where the
    cap-th match falls among the rowids (FTS5 yields them in order), so a word in every entry
    costs no more than a rare one. Cached per bank generation: common words recur in prompts."""
    key = (db_key(conn), generation)
    cache = _DF_CACHE.get(key)
    if cache is None or len(cache) > _DF_CACHE_MAX:
        _DF_CACHE.clear()  # one bank generation at a time: older counts are of no use
        cache = _DF_CACHE.setdefault(key, {})
    last_rowid = max(1, int(generation[1] or 0))
    for word in words:
        if word not in cache:
            # FTS5 applies the table's own tokenizer (porter stems), so the count is exact.
            count, highest = conn.execute(
                "SELECT COUNT(*), MAX(rowid) FROM (SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH ?"
                " LIMIT ?)", (f'"{word}"', cap + 1)).fetchone()
            cache[word] = float(count) if count <= cap else count * last_rowid / max(1, highest)
    return {w: cache[w] for w in words}
