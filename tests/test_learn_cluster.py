"""Near-duplicate grouping: paraphrases merge, distinct problems stay apart."""

from __future__ import annotations

import numpy as np
import pytest

from once.learn.cluster import group, merge_representative, nearest, recommended_threshold
from once.learn.embed import HashedNgramEmbedder

REPORTS = [
    "pytest fails with ModuleNotFoundError: no module named requests",          # 0 A
    "ModuleNotFoundError: No module named 'requests' when running pytest",      # 1 A
    "git push rejected because the branch is not fast-forward",                 # 2 B
    "push rejected by git: non-fast-forward branch update",                     # 3 B
    "the build cache fills the disk and the runner runs out of space",          # 4 C
    "ModuleNotFoundError no module named requests in pytest run",               # 5 A
]


def _unit(rows: list[list[float]]) -> np.ndarray:
    m = np.array(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_paraphrases_merge_and_distinct_problems_stay_apart() -> None:
    vectors = HashedNgramEmbedder().embed(REPORTS)
    groups = group(vectors, 0.4)
    assert [0, 1, 5] in groups
    assert [2, 3] in groups
    assert [4] in groups
    assert sorted(i for g in groups for i in g) == list(range(len(REPORTS)))


def test_threshold_behaviour() -> None:
    vectors = HashedNgramEmbedder().embed(REPORTS)
    assert group(vectors, 1.01) == [[i] for i in range(len(REPORTS))]  # nothing is that similar
    assert group(vectors, -1.0) == [list(range(len(REPORTS)))]        # everything merges
    # Raising the threshold only ever splits groups.
    coarse = {tuple(g) for g in group(vectors, 0.3)}
    for g in group(vectors, 0.6):
        assert any(set(g) <= set(c) for c in coarse)


def test_average_link_does_not_chain() -> None:
    # a~b and b~c are close, a and c are not: single-link would chain all three.
    a, b, c = _unit([[1, 0], [np.cos(0.5), np.sin(0.5)], [np.cos(1.0), np.sin(1.0)]])
    vectors = np.stack([a, b, c])
    sim_ab = float(a @ b)
    groups = group(vectors, sim_ab - 0.01)
    assert len(groups) == 2 and [0, 1, 2] not in groups


def test_keys_seed_groups_whatever_the_wording() -> None:
    vectors = _unit([[1, 0], [0, 1], [0.99, 0.1]])
    assert group(vectors, 0.9) == [[0, 2], [1]]
    assert group(vectors, 0.9, keys=["sig-x", "sig-x", None]) == [[0, 1], [2]]
    with pytest.raises(ValueError):
        group(vectors, 0.9, keys=["only one"])


def test_empty_and_single() -> None:
    assert group(np.zeros((0, 8), dtype=np.float32), 0.5) == []
    assert group(_unit([[1, 2]]), 0.5) == [[0]]


def test_groups_on_many_vectors_are_correct_and_fast() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(size=(400, 32))
    noisy = base + 0.05 * rng.normal(size=base.shape)
    vectors = _unit(np.vstack([base, noisy]).tolist())
    groups = group(vectors, 0.9)
    assert len(groups) == 400
    assert all(len(g) == 2 and g[1] - g[0] == 400 for g in groups)


def test_merge_representative_is_the_medoid() -> None:
    texts = ["left", "middle", "right", "unrelated"]
    vectors = _unit([[1, 0.0], [1, 0.5], [1, 1.0], [-1, 0]])
    assert merge_representative(texts, vectors, [0, 1, 2]) == 1
    # A tie goes to the longer text.
    assert merge_representative(["short", "a longer text"], _unit([[1, 0], [1, 0]]), [0, 1]) == 1
    with pytest.raises(ValueError):
        merge_representative(texts, vectors, [])


def test_nearest_respects_threshold() -> None:
    matrix = _unit([[1, 0], [0, 1]])
    query = _unit([[0.9, 0.1]])[0]
    found = nearest(query, matrix, 0.9)
    assert found is not None and found[0] == 0
    assert nearest(query, matrix, 0.999) is None


def test_recommended_threshold_by_embedder() -> None:
    assert recommended_threshold("minilm-l6-int8") > recommended_threshold("hashed-ngram-512") > 0
