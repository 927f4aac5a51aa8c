"""Retrieval latency of the knowledge bank: p50/p95 per turn over a synthetic bank of N entries.

    python benchmarks/knowledge_retrieval.py --entries 100000 --queries 200

The bank is built in a temporary database with the same columns, FTS rows and float32
embedding BLOBs that `Bank.add` writes (in bulk, to build fast). Timed: `retrieve()` for one
prompt, i.e. the query embedding, FTS5 candidates, the dense path when the bank is small
enough for it, and scoring. Target: p95 <= 20 ms at 100,000 entries.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

WORDS = ("pytest import module path src layout datetime timezone naive aware jest snapshot react component "
         "docker build cache layer npm install lockfile cargo borrow lifetime async await event loop "
         "migration schema column index query timeout retry socket websocket flaky race lock mutex "
         "encoding utf8 unicode locale float rounding decimal currency config env variable secret "
         "logging handler format json yaml toml parser regex escape quote shell path windows posix").split()
ERRORS = ["ModuleNotFoundError", "TypeError", "KeyError", "AssertionError", "TimeoutError", "ValueError",
          "ImportError", "SyntaxError", "PermissionError", "ConnectionResetError"]


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Identifiers and rarer words, drawn Zipf-like below, as real descriptions are."""
    letters = "abcdefghijklmnoprstuvw"
    return [*WORDS, *("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size))]


_RNG = random.Random(0)
VOCAB = _vocabulary(_RNG)
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(VOCAB))]


def synthetic(rng: random.Random, i: int) -> tuple[str, str, str]:
    words = rng.choices(VOCAB, weights=WEIGHTS, k=8)
    title = f"{rng.choice(ERRORS)} with {' '.join(words[:3])} #{i}"
    description = f"{rng.choice(ERRORS)}: {' '.join(words)} when running {rng.choice(WORDS)} tests (case {i})"
    return title, description, f"Check {words[0]} and {words[1]} first."


def build(db: Path, n: int, seed: int) -> float:
    from once.learn.embed import HashedNgramEmbedder
    from once.store import Store

    embedder = HashedNgramEmbedder()
    rng = random.Random(seed)
    started = time.perf_counter()
    with Store(db) as store:
        conn = store.conn
        conn.execute("BEGIN")
        for start in range(0, n, 2000):
            batch = [synthetic(rng, i) for i in range(start, min(n, start + 2000))]
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
        conn.execute("COMMIT")
    return time.perf_counter() - started


def measure(db: Path, queries: int, seed: int) -> dict[str, float]:
    from once.learn.embed import HashedNgramEmbedder
    from once.learn.retrieve import retrieve
    from once.store import Store

    rng = random.Random(seed + 1)
    embedder = HashedNgramEmbedder()
    prompts = [f"{rng.choice(ERRORS)} when I run the {' '.join(rng.choices(VOCAB, weights=WEIGHTS, k=4))} tests"
               for _ in range(queries)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000, help="how many entries (default 100000)")
    parser.add_argument("--queries", type=int, default=200, help="how many timed prompts (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        built = build(db, args.entries, args.seed)
        figures = {"entries": args.entries, "build_s": round(built, 1), **measure(db, args.queries, args.seed)}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
