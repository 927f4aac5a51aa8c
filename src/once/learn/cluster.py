"""Grouping near-duplicates by cosine similarity (pure numpy, deterministic).

Average-link agglomerative clustering: two groups merge while the mean similarity between
their members is at least `threshold`. Unlike single-link (connected components) it does
not chain A~B~C into one group when A and C are unrelated. Vectors are L2-normalized rows
(see once.learn.embed), so a dot product is the cosine similarity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy

# Recommended merge thresholds, measured on duplicate bug reports (benchmarks/dedup_recall.py,
# report titles): at these values ~1-2 in 10,000 unrelated pairs merge, for both embedders.
MERGE_THRESHOLD = {"minilm-l6-int8": 0.80, "hashed-ngram": 0.60}


def recommended_threshold(embedder_name: str) -> float:
    """The merge threshold for vectors from the named embedder."""
    for prefix, value in MERGE_THRESHOLD.items():
        if embedder_name.startswith(prefix):
            return value
    return 0.8


def group(
    vectors: "numpy.ndarray", threshold: float, *, keys: Sequence[str | None] | None = None
) -> list[list[int]]:
    """Indices grouped as near-duplicates, each group sorted, groups ordered by first index.

    `keys` (optional, one per vector): items sharing a non-empty key (e.g. a normalized
    error signature) start in the same group whatever their wording."""
    import numpy as np

    vecs = np.asarray(vectors, dtype=np.float32)
    n = len(vecs)
    if n == 0:
        return []
    members = _seed_groups(n, keys)
    sims = _group_similarity(vecs @ vecs.T, members)
    members = _average_link(sims, members, threshold)
    return sorted((sorted(m) for m in members), key=lambda m: m[0])


def _seed_groups(n: int, keys: Sequence[str | None] | None) -> list[list[int]]:
    if keys is None:
        return [[i] for i in range(n)]
    if len(keys) != n:
        raise ValueError(f"{len(keys)} keys for {n} vectors")
    by_key: dict[str, list[int]] = {}
    seeds: list[list[int]] = []
    for i, key in enumerate(keys):
        if not key:
            seeds.append([i])
        elif key in by_key:
            by_key[key].append(i)
        else:
            by_key[key] = [i]
            seeds.append(by_key[key])
    return seeds


def _group_similarity(sims: "numpy.ndarray", members: list[list[int]]) -> "numpy.ndarray":
    """Mean pairwise similarity between seed groups (identity when every seed is a single)."""
    import numpy as np

    n, c = len(sims), len(members)
    if c == n:
        return sims.astype(np.float64)
    onehot = np.zeros((n, c))
    for g, idx in enumerate(members):
        onehot[idx, g] = 1.0
    sizes = onehot.sum(axis=0)
    return (onehot.T @ sims @ onehot) / np.outer(sizes, sizes)


def _average_link(sims: "numpy.ndarray", members: list[list[int]], threshold: float) -> list[list[int]]:
    """Merge the most similar pair of groups until none reaches `threshold`. Each row keeps
    its best partner, so a merge costs O(n) plus the rows whose best partner changed."""
    import numpy as np

    sims = sims.copy()
    c = len(members)
    np.fill_diagonal(sims, -np.inf)
    sizes = np.array([len(m) for m in members], dtype=np.float64)
    alive = np.ones(c, dtype=bool)
    best = sims.argmax(axis=1) if c > 1 else np.zeros(c, dtype=np.int64)
    best_val = sims[np.arange(c), best] if c > 1 else np.full(c, -np.inf)
    while c > 1:
        i = int(np.argmax(np.where(alive, best_val, -np.inf)))
        if not alive[i] or best_val[i] < threshold:
            break
        j = int(best[i])
        i, j = min(i, j), max(i, j)
        # Lance-Williams update for average linkage.
        merged = (sizes[i] * sims[i] + sizes[j] * sims[j]) / (sizes[i] + sizes[j])
        merged[[i, j]] = -np.inf
        sims[i, :] = merged
        sims[:, i] = merged
        sims[j, :] = -np.inf
        sims[:, j] = -np.inf
        sizes[i] += sizes[j]
        members[i].extend(members[j])
        alive[j] = False
        best_val[j] = -np.inf
        stale = alive & ((best == i) | (best == j))
        stale[i] = True
        for k in np.flatnonzero(stale):
            best[k] = int(np.argmax(sims[k]))
            best_val[k] = sims[k, best[k]]
        better = alive & (merged > best_val)
        best[better] = i
        best_val[better] = merged[better]
    return [members[k] for k in np.flatnonzero(alive)]


def merge_representative(texts: Sequence[str], vectors: "numpy.ndarray", group: Sequence[int]) -> int:
    """The member that best stands for the group: the medoid (highest mean similarity to
    the others); ties go to the longer text (more detail), then the lower index."""
    import numpy as np

    if not group:
        raise ValueError("an empty group has no representative")
    idx = list(group)
    sub = np.asarray(vectors, dtype=np.float32)[idx]
    mean_sim = (sub @ sub.T).sum(axis=1)
    ranked = sorted(range(len(idx)), key=lambda p: (-round(float(mean_sim[p]), 6), -len(texts[idx[p]]), idx[p]))
    return idx[ranked[0]]


def nearest(query: "numpy.ndarray", matrix: "numpy.ndarray", threshold: float) -> tuple[int, float] | None:
    """The row of `matrix` most similar to `query` if it reaches `threshold`, else None:
    the check for "does this new entry duplicate an existing one?"."""
    from once.learn.embed import top_k

    found = top_k(query, matrix, 1)
    if found and found[0][1] >= threshold:
        return found[0]
    return None
