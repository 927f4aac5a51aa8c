"""An in-memory index of the live bank, for retrieval's candidates.

Every live entry's embedding and terms, so a prompt's best candidates by cosine plus term
overlap (the score `retrieve` ranks by) come from one matrix-vector product and a few
posting lists instead of SQLite round trips. bm25 alone picked the wrong candidates at scale
(the exhaustive top 5 recalled at 0.4 at 100,000 entries): the final score is half cosine,
which no word index can rank.

Up to EXACT_MAX entries the vectors are kept whole, so candidates are exact. Above that they
are projected onto their PROJECTED_DIM principal directions (fitted on the first rows read):
whole 512-float vectors would be 200 MB and a memory-bound product per prompt at 100,000
entries; 32 floats are 13 MB, and the exhaustive top 5 stays within the 128 best by the
projected score, which `retrieve` then scores exactly from the stored vectors. Term overlap
is always exact: without it, the 128 best by projected cosine held only half of the top 5.

Built once per process and bank generation (`bank_version`, which every Bank write and every
evaluation move bumps, and the highest rowid): a long session pays the load at its first
prompt only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Sequence

from once.learn.candidates import bank_generation, db_key
from once.learn.lexical import term_id_sets

EXACT_MAX = 20_000
PROJECTED_DIM = 32
_CHUNK = 8_192
_FIT_ROWS = 4_096
_CACHE_MAX = 4
_CACHE: dict[tuple[Any, ...], tuple[Any, "BankIndex"]] = {}


@dataclass
class BankIndex:
    rowids: Any
    """int64 (n,): the knowledge rowid of each row."""
    vectors: Any
    """float32 (n, d): embeddings, whole or projected by `basis`."""
    basis: Any
    """float32 (dim, d), or None when the vectors are whole."""
    weights: Any
    repo_codes: Any
    """int32 (n,): index into `repos`, -1 for a global entry."""
    repos: dict[str, int]
    vocabulary: dict[str, int]
    postings: Any
    """int32: the rows of term 0, then of term 1, ... (`offsets` says where each starts)."""
    offsets: Any
    sizes: Any
    """float32 (n,): how many terms each entry has."""
    unindexed: int = 0
    """Entries with these statuses left out: no embedding from this embedder (FTS must find them)."""
    _masks: dict[str | None, Any] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return self.basis is None

    def __len__(self) -> int:
        return len(self.rowids)

    def candidates(self, query_vec: Any, query_terms: set[str], repo: str | None, limit: int,
                   semantic_weight: float, floor: float = 0.0) -> dict[int, tuple[int, int]]:
        """The `limit` entries in scope with the best (approximate) weighted score: rowid ->
        (terms shared with the query, terms of the entry), exact, so scoring need not re-read them."""
        import numpy as np

        if len(self) == 0 or limit <= 0:
            return {}
        sims = matvec(self.vectors, self.project(query_vec))
        overlap = self.overlap([self.vocabulary[t] for t in query_terms if t in self.vocabulary])
        scores = combined_scores(sims, overlap, self.sizes, len(query_terms), semantic_weight, floor) * self.weights
        scores[~self.scope_mask(repo)] = -np.inf
        return {int(self.rowids[i]): (int(overlap[i]), int(self.sizes[i])) for i in top_rows(scores, limit)}

    def project(self, vector: Any) -> Any:
        import numpy as np

        vector = np.asarray(vector, dtype=np.float32)
        return vector if self.basis is None else matvec(self.basis.T, vector)

    def overlap(self, term_ids: Sequence[int]) -> Any:
        """How many of the given terms each entry has."""
        import numpy as np

        if not term_ids:
            return np.zeros(len(self), dtype=np.float32)
        rows = np.concatenate([self.postings[self.offsets[t]:self.offsets[t + 1]] for t in term_ids])
        return np.bincount(rows, minlength=len(self)).astype(np.float32)

    def scope_mask(self, repo: str | None) -> Any:
        """Rows retrievable from `repo`: its own entries and global ones (remembered per repo)."""
        mask = self._masks.get(repo)
        if mask is None:
            code = self.repos.get(repo, -2) if repo is not None else -2
            mask = self._masks[repo] = (self.repo_codes == -1) | (self.repo_codes == code)
        return mask


# -- pure logic -----------------------------------------------------------------------------

def matvec(matrix: Any, vector: Any) -> Any:
    """matrix @ vector on this thread. Not BLAS: OpenBLAS splits a product over 10,000 elements
    across threads, and while another process keeps a core busy, waiting for the second
    thread cost 15-50 ms per product (measured); numpy's own loop takes ~1 ms at 100,000 x 64."""
    import numpy as np

    return np.einsum("ij,j->i", matrix, vector)


def combined_scores(sims: Any, overlap: Any, sizes: Any, n_query_terms: int, semantic_weight: float,
                    floor: float = 0.0) -> Any:
    """`retrieve.combine` over whole arrays: rescaled cosine and term-set cosine, mixed."""
    import numpy as np

    semantic = np.maximum(sims - np.float32(floor), 0) / np.float32(1.0 - floor)
    lexical = overlap / np.sqrt(np.maximum(sizes, 1) * max(1, n_query_terms))
    lexical[sizes == 0] = 0
    return np.float32(semantic_weight) * semantic + np.float32(1 - semantic_weight) * lexical


def top_rows(scores: Any, limit: int) -> Any:
    """Indices of the `limit` highest finite scores, best first (ties: lower index first)."""
    import numpy as np

    finite = int(np.isfinite(scores).sum())
    limit = min(limit, finite)
    if limit <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, limit - 1)[:limit]
    return part[np.lexsort((part, -scores[part]))]


def fit_basis(sample: Any, dim: int) -> Any:
    """The `dim` directions that keep most of the sample's dot products: top eigenvectors of
    its (uncentred) second moment, so q.x ~ (qB).(xB) for rows like the sample's."""
    import numpy as np

    sample = np.asarray(sample, dtype=np.float32)
    _, vectors = np.linalg.eigh((sample.T @ sample).astype(np.float64))
    return np.ascontiguousarray(vectors[:, ::-1][:, :dim], dtype=np.float32)


def build_postings(term_sets: Sequence[set[int]], n_terms: int) -> tuple[Any, Any, Any]:
    """(postings, offsets, sizes) of the term-id sets: rows grouped by term, in row order."""
    import numpy as np

    sizes = np.fromiter((len(s) for s in term_sets), dtype=np.int64, count=len(term_sets))
    flat = np.fromiter((t for s in term_sets for t in s), dtype=np.int64, count=int(sizes.sum()))
    rows = np.repeat(np.arange(len(term_sets), dtype=np.int32), sizes)
    order = np.argsort(flat, kind="stable")
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat, minlength=n_terms), out=offsets[1:])
    return rows[order], offsets, sizes.astype(np.float32)


# -- loading and the per-process cache --------------------------------------------------------

def bank_index(conn: sqlite3.Connection, statuses: tuple[str, ...], embedder_name: str, dim: int) -> BankIndex:
    """The index of the entries with these statuses, rebuilt only when the bank has changed."""
    generation = bank_generation(conn)
    key = (db_key(conn), statuses, embedder_name, dim)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == generation:
        return cached[1]
    index = load_index(conn, statuses, embedder_name, dim)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = (generation, index)
    return index


def forget_indexes() -> None:
    _CACHE.clear()


def load_index(conn: sqlite3.Connection, statuses: tuple[str, ...], embedder_name: str, dim: int) -> BankIndex:
    """Read the entries in chunks (the whole float32 matrix of a large bank is never held)."""
    import numpy as np

    in_status = f"status IN ({', '.join('?' for _ in statuses)})"
    where = f"{in_status} AND embedder = ? AND length(embedding) = ?"
    params = (*statuses, embedder_name, dim * 4)
    count = conn.execute(f"SELECT COUNT(*) FROM knowledge WHERE {where}", params).fetchone()[0]
    live = conn.execute(f"SELECT COUNT(*) FROM knowledge WHERE {in_status}", statuses).fetchone()[0]
    cursor = conn.execute(f"SELECT rowid, repo, weight, title, description, embedding FROM knowledge"
                          f" WHERE {where} ORDER BY rowid", params)
    basis = None
    parts: dict[str, list[Any]] = {"rowids": [], "vectors": [], "weights": [], "repos": []}
    term_sets: list[set[int]] = []
    repos: dict[str, int] = {}
    vocabulary: dict[str, int] = {}
    while rows := cursor.fetchmany(_CHUNK):
        vectors = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        if count > EXACT_MAX and basis is None:
            basis = fit_basis(vectors[:_FIT_ROWS], min(PROJECTED_DIM, dim))
        parts["vectors"].append(vectors if basis is None else vectors @ basis)
        parts["rowids"].append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        parts["weights"].append(np.fromiter((r[2] for r in rows), dtype=np.float32, count=len(rows)))
        parts["repos"].append(np.fromiter((-1 if r[1] is None else repos.setdefault(r[1], len(repos))
                                           for r in rows), dtype=np.int32, count=len(rows)))
        term_sets += term_id_sets((f"{r[3]}\n{r[4]}" for r in rows), vocabulary)
    width = dim if basis is None else basis.shape[1]
    postings, offsets, sizes = build_postings(term_sets, len(vocabulary))
    return BankIndex(
        rowids=_concat(parts["rowids"], np.int64), vectors=_concat(parts["vectors"], np.float32, width),
        basis=basis, weights=_concat(parts["weights"], np.float32), repo_codes=_concat(parts["repos"], np.int32),
        repos=repos, vocabulary=vocabulary, postings=postings, offsets=offsets, sizes=sizes,
        unindexed=live - count)


def _concat(parts: list[Any], dtype: Any, width: int | None = None) -> Any:
    import numpy as np

    if not parts:
        return np.zeros((0, width) if width is not None else 0, dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)
