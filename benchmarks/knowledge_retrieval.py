"""Retrieval latency of the knowledge bank: p50/p95 per turn over a synthetic bank of N entries.

    python benchmarks/knowledge_retrieval.py --entries 100000 --queries 200
    python benchmarks/knowledge_retrieval.py --entries 100000 --quality 100   # + agreement

The bank is built in a temporary database (or `--db`, reused when it exists) with the same
columns, FTS rows and float32 embedding BLOBs that `Bank.add` writes, in bulk and in one
transaction. Timed: `retrieve()` for one prompt, i.e. the query embedding, FTS5 candidates,
the dense path when the bank is small enough for it, and scoring. Target: p95 <= 20 ms at
100,000 entries.

`--quality N` checks that speed did not cost results: for N prompts (half random, half made
from an entry's own words, that entry being the "target") it scores every live entry the
way `retrieve` scores its candidates and reports how much of that exhaustive top-k the fast
path returns, and how often each finds the target.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

WORDS = ("pytest import module path src layout datetime timezone naive aware jest snapshot react component "
         "docker build cache layer npm install lockfile cargo borrow lifetime async await event loop "
         "migration schema column index query timeout retry socket websocket flaky race lock mutex "
         "encoding utf8 unicode locale float rounding decimal currency config env variable secret "
         "logging handler format json yaml toml parser regex escape quote shell path windows posix").split()
ERRORS = ["ModuleNotFoundError", "TypeError", "KeyError", "AssertionError", "TimeoutError", "ValueError",
          "ImportError", "SyntaxError", "PermissionError", "ConnectionResetError"]
K = 3


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Identifiers and rarer words, drawn Zipf-like below, as real descriptions are."""
    letters = "abcdefghijklmnoprstuvw"
    return [*WORDS, *("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size))]


_RNG = random.Random(0)
VOCAB = _vocabulary(_RNG)
# Cumulative weights once: `choices(weights=...)` would re-add 20,000 weights on every call.
CUM_WEIGHTS = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(VOCAB))))


def zipf_words(rng: random.Random, k: int) -> list[str]:
    return rng.choices(VOCAB, cum_weights=CUM_WEIGHTS, k=k)


def synthetic(rng: random.Random, i: int) -> tuple[str, str, str]:
    words = zipf_words(rng, 8)
    title = f"{rng.choice(ERRORS)} with {' '.join(words[:3])} #{i}"
    description = f"{rng.choice(ERRORS)}: {' '.join(words)} when running {rng.choice(WORDS)} tests (case {i})"
    return title, description, f"Check {words[0]} and {words[1]} first."


def build(db: Path, n: int, seed: int) -> float:
    from once.learn.embed import HashedNgramEmbedder
    from once.store import Store
    from once.store.db import transaction

    embedder = HashedNgramEmbedder()
    rng = random.Random(seed)
    started = time.perf_counter()
    with Store(db) as store, transaction(store.conn) as conn:
        for start in range(0, n, 5000):
            batch = [synthetic(rng, i) for i in range(start, min(n, start + 5000))]
            vectors = embedder.embed([f"{t}\n{d}" for t, d, _ in batch])
            now = time.time()
            rows = [(f"k-bench{start + j:08d}", None, "global", "episode", t, d, k,
                     "active" if (start + j) % 10 else "pruned", "[]", now, now, vectors[j].tobytes(), embedder.name)
                    for j, (t, d, k) in enumerate(batch)]
            conn.executemany("INSERT INTO knowledge (id, repo, scope, kind, title, description, knowledge, status,"
                             " sources, created_at, updated_at, embedding, embedder)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("INSERT INTO knowledge_fts (rowid, title, description)"
                     " SELECT rowid, title, description FROM knowledge")
    return time.perf_counter() - started


def random_prompts(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.choice(ERRORS)} when I run the {' '.join(zipf_words(rng, 4))} tests" for _ in range(n)]


def own_prompts(conn: Any, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(prompt, target id): an error and three words of a random live entry's description."""
    last = conn.execute("SELECT MAX(rowid) FROM knowledge").fetchone()[0] or 0
    picked = rng.sample(range(1, last + 1), min(last, 2 * n))  # seeded, unlike SQL's random()
    rows = conn.execute(f"SELECT id, description FROM knowledge WHERE status = 'active' AND rowid IN"
                        f" ({', '.join('?' for _ in picked)}) LIMIT ?", (*picked, n)).fetchall()
    out = []
    for entry_id, description in rows:
        error, rest = description.split(": ", 1)
        words = rest.split(" when running ")[0].split()
        out.append((f"{error} when I run the {' '.join(rng.sample(words, 3))} tests", entry_id))
    return out


def measure(db: Path, queries: int, seed: int) -> dict[str, float]:
    from once.learn.embed import HashedNgramEmbedder
    from once.learn.retrieve import retrieve
    from once.store import Store

    embedder = HashedNgramEmbedder()
    prompts = random_prompts(random.Random(seed + 1), queries)
    with Store(db) as store:
        cold_start = time.perf_counter()
        retrieve(store.conn, prompts[0], repo="/r", embedder=embedder)
        cold = time.perf_counter() - cold_start
        times, hits = [], 0
        for prompt in prompts:
            t0 = time.perf_counter()
            hits += len(retrieve(store.conn, prompt, repo="/r", embedder=embedder))
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"first_call_ms": round(cold * 1000, 2), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), "mean_hits": round(hits / queries, 2)}


class Exhaustive:
    """Every live entry scored as `retrieve` scores a candidate: the reference for quality."""

    def __init__(self, conn: Any, embedder: Any) -> None:
        import numpy as np

        from once.learn.retrieve import terms

        rows = conn.execute("SELECT id, title, description, weight, embedding FROM knowledge"
                            " WHERE status IN ('probation', 'active')").fetchall()
        self.ids = [row[0] for row in rows]
        self.weights = np.array([row[3] for row in rows], dtype=np.float32)
        self.matrix = np.frombuffer(b"".join(row[4] for row in rows), dtype=np.float32).reshape(len(rows), -1)
        postings: dict[str, list[int]] = {}
        sizes = []
        for i, row in enumerate(rows):
            entry_terms = set(terms(f"{row[1]}\n{row[2]}"))
            sizes.append(len(entry_terms))
            for term in entry_terms:
                postings.setdefault(term, []).append(i)
        self.postings = {t: np.array(ix, dtype=np.int64) for t, ix in postings.items()}
        self.sizes = np.array(sizes, dtype=np.float32)
        self.embedder = embedder

    def top(self, prompt: str, k: int = K) -> list[str]:
        import numpy as np

        from once.learn.retrieve import SCORE_THRESHOLD, SEMANTIC_WEIGHT, terms

        query_terms = set(terms(prompt))
        sims = self.matrix @ self.embedder.embed([prompt])[0]
        overlap = np.zeros(len(self.ids), dtype=np.float32)
        for term in query_terms:
            if term in self.postings:
                overlap[self.postings[term]] += 1
        lexical = overlap / np.sqrt(max(1, len(query_terms)) * np.maximum(self.sizes, 1))
        score = SEMANTIC_WEIGHT * np.maximum(sims, 0) + (1 - SEMANTIC_WEIGHT) * lexical
        ranked = [i for i in np.argsort(-score * self.weights, kind="stable")[: k * 4] if score[i] >= SCORE_THRESHOLD]
        ranked.sort(key=lambda i: (-score[i] * self.weights[i], self.ids[i]))
        return [self.ids[i] for i in ranked[:k]]


def quality(db: Path, n: int, seed: int) -> dict[str, float]:
    from once.learn.embed import HashedNgramEmbedder
    from once.learn.retrieve import retrieve
    from once.store import Store

    embedder = HashedNgramEmbedder()
    rng = random.Random(seed + 2)
    with Store(db) as store:
        reference = Exhaustive(store.conn, embedder)
        own = own_prompts(store.conn, rng, n // 2)
        cases = [(p, None) for p in random_prompts(rng, n - len(own))] + own
        found = agreed = total = fast_target = full_target = 0
        for prompt, target in cases:
            fast = [h.entry.id for h in retrieve(store.conn, prompt, repo="/r", embedder=embedder, k=K)]
            full = reference.top(prompt)
            found += len(set(fast) & set(full))
            total += len(full)
            agreed += fast == full
            fast_target += target in fast
            full_target += target in full
    return {"recall_vs_exhaustive": round(found / max(1, total), 3), "same_top_k": round(agreed / len(cases), 3),
            "target_found_fast": round(fast_target / max(1, len(own)), 3),
            "target_found_exhaustive": round(full_target / max(1, len(own)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="how many entries (default 100000)")
    parser.add_argument("--queries", type=int, default=200, help="how many timed prompts (default 200)")
    parser.add_argument("--quality", type=int, default=0, help="also compare N prompts with exhaustive scoring")
    parser.add_argument("--db", type=Path, help="build the bank here and reuse it on later runs")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.db"
        built = build(db, args.entries, args.seed) if not db.exists() else None
        figures: dict[str, Any] = {"entries": args.entries, "build_s": None if built is None else round(built, 1),
                                   **measure(db, args.queries, args.seed)}
        if args.quality:
            figures.update(quality(db, args.quality, args.seed))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
