"""`agent learn` over a large bank: N entries with exposures, M new sessions, one pass, timed.

Builds a store with `--entries` live entries (hashed embeddings) and `--exposures-per-entry`
earlier exposures each (outcomes known), then records `--sessions` new sessions as users have
them (the learning simulator's world: paraphrased prompts, complaints, fixes in their own
words, thanks), each exposed to a few entries with its outcome still unknown. Then times
`run_learn` stage by stage: reading the sessions, detecting signals and episodes, extracting,
merging and admitting entries, the outcomes and the evaluation, the corrections. The goal is
<= 60 s for the whole pass at 100,000 entries and 10,000 sessions.

    python benchmarks/learn_scale.py --entries 100000 --sessions 10000
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def record_sessions(store: Store, count: int, entries: int, rng: random.Random) -> None:
    """`count` new sessions from the simulator's world, each exposed to 3 entries (outcome unknown)."""
    from learning_sim import User, simulate_session
    from learning_world import World, make_types, real_turns

    world = World(make_types(40, rng, 0.15, 0.10), harmful=set(range(10)), null_rate=0.1)
    user, real, settings = User(store, rng), real_turns(), argparse.Namespace(late=0.0)
    exposures = []
    for i in range(count):
        now = NOW + i * 60
        sid = simulate_session(user, world, i, rng.randrange(40), now, "m1", settings, real, retrieve=False)
        for entry in rng.sample(range(entries), 3):
            arm = "holdout" if rng.random() < 0.2 else "injected"
            exposures.append((f"k{entry:07d}", sid, f"r{i}-0", arm, 0.5, now + 1, 0.2))
    with transaction(store.conn):
        store.conn.executemany("INSERT OR IGNORE INTO exposures (entry_id, session_id, run_id, arm, score, ts, holdout)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?)", exposures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--exposures-per-entry", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=10_000, help="new sessions since the last `agent learn`")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "scale.db") as store:
        started = time.perf_counter()
        build(store, args.entries, args.exposures_per_entry, rng)
        record_sessions(store, args.sessions, args.entries, rng)
        built = time.perf_counter() - started
        timings = {}
        learn_at = NOW + args.sessions * 60 + 3600
        for label, dry in (("dry_run", True), ("learn", False)):
            started = time.perf_counter()
            report = run_learn(store.conn, LearnOptions(dry_run=dry, model="m1", tool_version="",
                                                        now=learn_at, embedder=HashedNgramEmbedder()))
            timings[label] = round(time.perf_counter() - started, 2)
    result = {"entries": args.entries, "exposures": args.entries * args.exposures_per_entry,
              "sessions": args.sessions, "build_seconds": round(built, 1),
              **{f"{k}_seconds": v for k, v in timings.items()}, "stages": report.seconds,
              "episodes": report.episodes, "added": len(report.added), "merged": len(report.merged),
              "outcomes": report.outcomes, "moves": len(report.moves), "reweighted": report.reweighted,
              "goal_seconds": 60}
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:20} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
