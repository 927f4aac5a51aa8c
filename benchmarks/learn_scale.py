"""`agent learn` over a large bank: N entries with exposures, one pass of the pipeline, timed.

Builds a store with `--entries` live entries (hashed embeddings), `--exposures-per-entry`
exposures each (with known outcomes) and a few fresh sessions, then times `run_learn`
(detect -> extract -> merge -> admit -> evaluate -> prune). The goal is <= 60 s at 100,000.

    python benchmarks/learn_scale.py --entries 100000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from once.learn.embed import HashedNgramEmbedder, vector_to_blob  # noqa: E402
from once.learn.pipeline import LearnOptions, run_learn  # noqa: E402
from once.store.db import transaction  # noqa: E402
from once.store.store import Store  # noqa: E402

NOW = 1_700_000_000.0


def build(store: Store, entries: int, per_entry: int, rng: random.Random) -> None:
    embedder = HashedNgramEmbedder()
    words = [f"w{k}" for k in range(5000)]
    conn = store.conn
    with transaction(conn):
        for start in range(0, entries, 2000):
            batch = range(start, min(entries, start + 2000))
            texts = [" ".join(rng.choices(words, k=8)) for _ in batch]
            vectors = embedder.embed(texts)
            rows = [(f"k{i:07d}", "global", "episode", f"entry {i}", text, f"advice {i}",
                     "probation" if i % 3 else "active", "m1", "", 0.2, 1.0, vector_to_blob(vec), embedder.name,
                     NOW - 86_400, NOW - 86_400, NOW - 3600)
                    for i, text, vec in zip(batch, texts, vectors)]
            conn.executemany(
                "INSERT INTO knowledge (id, scope, kind, title, description, knowledge, status, model, tool_version,"
                " holdout, weight, embedding, embedder, created_at, updated_at, last_retrieved_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO knowledge_fts (rowid, title, description) SELECT rowid, title, description"
                             " FROM knowledge WHERE id = ?", [(row[0],) for row in rows])
        exposures = []
        for i in range(entries):
            lift = rng.choice((0.0, 0.0, 0.2, -0.2))
            for j in range(per_entry):
                arm = "holdout" if rng.random() < 0.2 else "injected"
                p = 0.6 + (lift if arm == "injected" else 0.0)
                exposures.append((f"k{i:07d}", f"s{i}-{j}", f"r{i}-{j}", arm, 0.5, NOW - 7200 + j,
                                  int(rng.random() < p), 0.2))
        conn.executemany("INSERT INTO exposures (entry_id, session_id, run_id, arm, score, ts, outcome, holdout)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", exposures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--exposures-per-entry", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "scale.db") as store:
        started = time.perf_counter()
        build(store, args.entries, args.exposures_per_entry, rng)
        built = time.perf_counter() - started
        timings = {}
        for label, dry in (("dry_run", True), ("learn", False)):
            started = time.perf_counter()
            report = run_learn(store.conn, LearnOptions(dry_run=dry, model="m1", tool_version="",
                                                        now=NOW, embedder=HashedNgramEmbedder()))
            timings[label] = round(time.perf_counter() - started, 2)
    result = {"entries": args.entries, "exposures": args.entries * args.exposures_per_entry,
              "build_seconds": round(built, 1), **{f"{k}_seconds": v for k, v in timings.items()},
              "moves": len(report.moves), "reweighted": report.reweighted, "goal_seconds": 60}
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:20} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
