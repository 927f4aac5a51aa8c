"""The in-memory index retrieval takes its candidates from: agreement with scoring every entry,
its pure parts, and that any change of the bank reloads it."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from once.learn import bank_index
from once.learn.bank import LIVE_STATUSES, Bank, KnowledgeEntry
from once.learn.bank_index import build_postings, combined_scores, fit_basis, top_rows
from once.learn.embed import HashedNgramEmbedder
from once.learn.evaluate import Decision
from once.learn.lexical import term_id_sets, terms
from once.learn.pipe_evaluate import apply
from once.learn.retrieve import SCORE_THRESHOLD, SEMANTIC_WEIGHT, combine, lexical_overlap, retrieve
from once.store import Store
from once.store.db import transaction

REPO = "/src/app"
ERRORS = ["ModuleNotFoundError", "TypeError", "KeyError", "TimeoutError", "ValueError", "ImportError"]
WORDS = ("pytest import module path layout datetime timezone naive aware jest snapshot react docker build "
         "cache layer lockfile cargo borrow lifetime async await loop migration schema column index query "
         "timeout retry socket websocket flaky race mutex encoding unicode locale rounding decimal").split()


@pytest.fixture
def store(tmp_path):
    bank_index.forget_indexes()
    with Store(tmp_path / "once.db") as opened:
        yield opened
    bank_index.forget_indexes()


@pytest.fixture
def bank(store):
    return Bank(store.conn, embedder=HashedNgramEmbedder())


def synthetic_bank(conn, embedder, n: int, seed: int) -> None:
    """n entries written the way Bank.add writes them (row, FTS row, embedding), in one go."""
    rng = random.Random(seed)
    rare = ["".join(rng.choice("abcdefghiklmnoprstuv") for _ in range(rng.randint(4, 8))) for _ in range(3000)]
    texts = []
    for i in range(n):
        words = rng.sample(WORDS, 3) + rng.sample(rare, 3)
        texts.append((f"{rng.choice(ERRORS)} with {' '.join(words[:3])}",
                      f"{rng.choice(ERRORS)}: {' '.join(words)} when running the tests"))
    vectors = embedder.embed([f"{t}\n{d}" for t, d in texts])
    rows = [(f"k-syn{i:06d}", None if i % 3 else REPO, "project" if i % 3 == 0 else "global", "episode", t, d,
             "advice", ["active", "probation", "pruned"][i % 7 % 3], "[]", 1.0, 1.0, vectors[i].tobytes(),
             embedder.name) for i, (t, d) in enumerate(texts)]
    with transaction(conn):
        conn.executemany("INSERT INTO knowledge (id, repo, scope, kind, title, description, knowledge, status,"
                         " sources, created_at, updated_at, embedding, embedder)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("INSERT INTO knowledge_fts (rowid, title, description) SELECT rowid, title, description"
                     " FROM knowledge")


class Exhaustive:
    """Every live entry in scope scored the way `retrieve` scores a candidate (read once)."""

    def __init__(self, conn, embedder) -> None:
        rows = conn.execute("SELECT id, title, description, weight, embedding FROM knowledge WHERE status IN"
                            f" ({', '.join('?' for _ in LIVE_STATUSES)}) AND (repo = ? OR repo IS NULL)",
                            (*LIVE_STATUSES, REPO)).fetchall()
        self.ids = [row["id"] for row in rows]
        self.weights = [row["weight"] for row in rows]
        self.terms = [set(terms(f"{row['title']}\n{row['description']}")) for row in rows]
        self.matrix = np.frombuffer(b"".join(row["embedding"] for row in rows), dtype=np.float32).reshape(len(rows), -1)
        self.embedder = embedder

    def top(self, prompt: str, k: int) -> list[str]:
        sims = self.matrix @ self.embedder.embed([prompt])[0]
        query_terms = set(terms(prompt))
        scored = []
        for entry_id, weight, entry_terms, sim in zip(self.ids, self.weights, self.terms, sims):
            score = combine(float(sim), lexical_overlap(query_terms, entry_terms))
            if score >= SCORE_THRESHOLD:
                scored.append((-score * weight, entry_id))
        return [entry_id for _, entry_id in sorted(scored)[:k]]


def prompts(conn, n: int, seed: int) -> list[str]:
    """Half made of a live entry's own words (it should come first), half of random words."""
    rng = random.Random(seed)
    rows = conn.execute("SELECT description FROM knowledge WHERE status = 'active' ORDER BY rowid").fetchall()
    own = [f"{d.split(':')[0]} when I run {' '.join(rng.sample(d.split(': ')[1].split()[:6], 3))}"
           for (d,) in rng.sample(rows, n // 2)]
    return own + [f"{rng.choice(ERRORS)} in {' '.join(rng.sample(WORDS, 3))} tests" for _ in range(n - len(own))]


def recall_at_5(store, embedder, cases: list[str]) -> float:
    found = total = 0
    reference = Exhaustive(store.conn, embedder)
    for prompt in cases:
        fast = {h.entry.id for h in retrieve(store.conn, prompt, repo=REPO, embedder=embedder, k=5)}
        full = reference.top(prompt, 5)
        found += len(fast & set(full))
        total += len(full)
    assert total > 0
    return found / total


def test_projected_index_keeps_the_exhaustive_top_5(store, monkeypatch):
    """3,000 entries with the exact limit lowered so the projection is what is tested."""
    monkeypatch.setattr(bank_index, "EXACT_MAX", 500)
    embedder = HashedNgramEmbedder()
    synthetic_bank(store.conn, embedder, 3_000, seed=11)
    started = time.perf_counter()
    recall = recall_at_5(store, embedder, prompts(store.conn, 40, seed=12))
    index = bank_index.bank_index(store.conn, LIVE_STATUSES, embedder.name, embedder.dim)
    assert not index.exact and index.vectors.shape[1] == bank_index.PROJECTED_DIM
    assert index.unindexed == 0  # so no FTS query helped
    assert recall >= 0.9
    assert time.perf_counter() - started < 30  # 40 prompts, each also scored against all 3,000 entries


def test_exact_index_returns_the_exhaustive_top_5(store):
    embedder = HashedNgramEmbedder()
    synthetic_bank(store.conn, embedder, 1_500, seed=3)
    reference = Exhaustive(store.conn, embedder)
    for prompt in prompts(store.conn, 16, seed=4):
        fast = [h.entry.id for h in retrieve(store.conn, prompt, repo=REPO, embedder=embedder, k=5)]
        assert fast == reference.top(prompt, 5)
    assert bank_index.bank_index(store.conn, LIVE_STATUSES, embedder.name, embedder.dim).exact


def add(bank: Bank, title: str, description: str, **kw) -> str:
    kw.setdefault("status", "active")
    kw.setdefault("repo", REPO)
    return bank.add(KnowledgeEntry(title=title, description=description, knowledge=f"Advice: {title}.", **kw))


def current(bank: Bank) -> bank_index.BankIndex:
    return bank_index.bank_index(bank.conn, LIVE_STATUSES, bank.embedder.name, bank.embedder.dim)


def hit_ids(bank: Bank, prompt: str, repo: str = REPO) -> list[str]:
    return [h.entry.id for h in retrieve(bank.conn, prompt, repo=repo, embedder=bank.embedder)]


def test_every_bank_change_reloads_the_index_and_nothing_else_does(bank, store):
    first = add(bank, "pytest cannot import the package", "ModuleNotFoundError: No module named 'app' in pytest")
    assert hit_ids(bank, "pytest: No module named app") == [first]
    loaded = current(bank)
    store.conn.execute("UPDATE knowledge SET last_retrieved_at = 1 WHERE id = ?", (first,))  # as injection does
    assert current(bank) is loaded

    second = add(bank, "naive and aware datetimes", "TypeError: can't compare offset-naive and offset-aware")
    assert current(bank) is not loaded and len(current(bank)) == 2
    assert hit_ids(bank, "compare offset-naive and offset-aware datetimes") == [second]

    edited = bank.get(second)
    edited.title, edited.description = "docker layer cache", "docker build cache misses on every layer"
    loaded = current(bank)
    bank.update(edited)
    assert current(bank) is not loaded
    assert hit_ids(bank, "docker build cache misses on every layer") == [second]
    assert hit_ids(bank, "compare offset-naive and offset-aware datetimes") == []

    loaded = current(bank)
    bank.set_status(first, "pruned", "no effect", "prune")
    assert current(bank) is not loaded and len(current(bank)) == 1
    assert hit_ids(bank, "pytest: No module named app") == []


def test_a_move_by_the_evaluation_reloads_the_index(bank, store):
    entry_id = add(bank, "pytest cannot import the package", "ModuleNotFoundError: No module named 'app' in pytest")
    assert hit_ids(bank, "pytest: No module named app") == [entry_id]
    loaded = current(bank)
    apply(store.conn, [Decision(entry_id, "prune", "active", "pruned", "harmful")], {}, [], now=2.0)
    assert current(bank) is not loaded
    assert hit_ids(bank, "pytest: No module named app") == []


def test_other_repositories_entries_are_never_candidates(bank):
    add(bank, "pytest cannot import the package", "ModuleNotFoundError: No module named 'app' in pytest",
        repo="/src/other")
    shared = add(bank, "pytest cannot import a module", "ModuleNotFoundError: No module named 'lib' in pytest",
                 scope="global")
    index = current(bank)
    assert hit_ids(bank, "pytest: No module named app") == [shared]
    assert hit_ids(bank, "pytest: No module named app", repo=None) == [shared]
    assert index.scope_mask("/src/nowhere").tolist() == [False, True]


# -- the pure parts ----------------------------------------------------------------------------

def test_combined_scores_match_the_scalar_score():
    sims = np.array([0.9, 0.2, -0.3, 0.5], dtype=np.float32)
    overlap = np.array([2, 0, 1, 0], dtype=np.float32)
    sizes = np.array([4, 6, 3, 0], dtype=np.float32)
    got = combined_scores(sims, overlap, sizes, 5, SEMANTIC_WEIGHT, floor=0.3)
    expected = [combine(float(s), float(o) / np.sqrt(5 * z) if z else 0.0, 0.3)
                for s, o, z in zip(sims, overlap, sizes)]
    assert got.tolist() == pytest.approx(expected, abs=1e-6)


def test_top_rows_best_first_ties_by_index_and_never_out_of_scope():
    scores = np.array([0.1, 0.7, -np.inf, 0.7, 0.4], dtype=np.float32)
    assert top_rows(scores, 3).tolist() == [1, 3, 4]
    assert top_rows(scores, 10).tolist() == [1, 3, 4, 0]
    assert top_rows(np.full(3, -np.inf, dtype=np.float32), 2).tolist() == []


def test_postings_group_rows_by_term():
    postings, offsets, sizes = build_postings([{0, 2}, {1}, set(), {2, 0}], 3)
    assert [postings[offsets[t]:offsets[t + 1]].tolist() for t in range(3)] == [[0, 3], [1], [0, 3]]
    assert sizes.tolist() == [2, 1, 0, 2]


def test_term_ids_are_the_terms_retrieval_compares():
    texts = ["Tests failing: the 2 running jobs", "KeyError while testing jobs", ""]
    vocabulary: dict[str, int] = {}
    sets = term_id_sets(texts, vocabulary)
    names = {i: t for t, i in vocabulary.items()}
    assert [{names[i] for i in s} for s in sets] == [set(terms(t)) for t in texts]
    assert {names[i] for i in sets[0]} == {"test", "fail", "runn", "jobs"}


def test_a_fitted_basis_keeps_the_dominant_directions():
    rng = np.random.default_rng(0)
    directions = np.linalg.qr(rng.standard_normal((32, 4)))[0].T  # 4 orthonormal directions in 32 dims
    sample = (rng.standard_normal((400, 4)) * [5, 4, 3, 2]) @ directions + 0.01 * rng.standard_normal((400, 32))
    basis = fit_basis(sample.astype(np.float32), 4)
    assert basis.shape == (32, 4)
    x, y = sample[0].astype(np.float32), sample[1].astype(np.float32)
    assert float((x @ basis) @ (y @ basis)) == pytest.approx(float(x @ y), abs=0.05)
