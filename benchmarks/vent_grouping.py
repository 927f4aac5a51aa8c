"""Vent grouping on duplicate bug reports: recall@1/5/10 of the known duplicate, and the
share of duplicate / other pairs that the grouping threshold would merge.

Data: ../shared/eval/dedup/ (Hadoop and SeaMonkey bug reports, gitbugs, CC BY 4.0), read in
place. A vent message is short, so each report becomes a "message" of its summary (and, with
--chars, the start of its description). The score is the one `once.vent.grouping` groups by: embedding
cosine plus the overlap of the normalized signatures' words. Candidates are the 50 nearest
by cosine, re-ranked by that score (the signature overlap is not a vector product).

Measured (hadoop / SeaMonkey, messages = summaries only):
  MiniLM int8 (threshold 0.50): recall@1/5/10 0.373/0.595/0.667 and 0.453/0.627/0.693 (cosine alone
    @10: 0.643 / 0.680); pairs merged: duplicates 0.62 / 0.50, random others 0.003 / 0.005
  hashed n-grams (threshold 0.30, --hashed): recall@10 0.540 / 0.693; duplicates merged 0.54 / 0.48,
    random others 0.006 / 0.008

Run: python benchmarks/vent_grouping.py [--chars N] [--hashed]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

from once.vent import grouping

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dedup"
PROJECTS = ("hadoop", "SeaMonkey")
CANDIDATES = 50


def load(prefix: str, chars: int) -> tuple[list[str], list[tuple[int, set[int]]]]:
    """(messages, queries): a query is (report index, indices of its known duplicates)."""
    csv.field_size_limit(10**9)
    with open(DATA / f"{prefix}_bugs.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    where = {r["Issue id"].strip(): i for i, r in enumerate(rows)}
    messages = [f"{r['Summary']}. {(r.get('Description') or '')[:chars]}" for r in rows]
    queries = []
    with open(DATA / f"{prefix}_bugs-combined.csv", newline="", encoding="utf-8") as fh:
        for row in list(csv.reader(fh))[1:]:
            if len(row) < 2 or row[0].strip() not in where:
                continue
            dups = {where[d.strip()] for d in row[1].split(",") if d.strip() in where} - {where[row[0].strip()]}
            if dups:
                queries.append((where[row[0].strip()], dups))
    return messages, queries


def evaluate(messages: list[str], queries: list[tuple[int, set[int]]]) -> dict[str, float]:
    sigs = [grouping.signature("other", "", m) for m in messages]
    vectors, name = grouping.embed_texts([grouping.embed_text("other", "", m) for m in messages])
    threshold = grouping.threshold_for(name)
    cos_hits = {1: 0, 5: 0, 10: 0}
    hits = {1: 0, 5: 0, 10: 0}
    for q, dups in queries:
        sims = vectors @ vectors[q]
        sims[q] = -np.inf
        nearest = np.argsort(-sims)[:CANDIDATES]
        rescored = sorted(nearest, key=lambda j: -grouping.similarity(sigs[q], vectors[q], sigs[j], vectors[j]))
        for k in hits:
            cos_hits[k] += bool(set(nearest[:k].tolist()) & dups)
            hits[k] += bool(set(int(j) for j in rescored[:k]) & dups)
    n = len(queries)
    pairs = [(q, d) for q, dups in queries for d in dups]
    rng = random.Random(0)
    others = [(rng.randrange(len(messages)), rng.randrange(len(messages))) for _ in range(5000)]
    others = [(a, b) for a, b in others if a != b and (a, b) not in set(pairs)]

    def merged(pair_list: list[tuple[int, int]]) -> float:
        return sum(grouping.similarity(sigs[a], vectors[a], sigs[b], vectors[b]) >= threshold
                   for a, b in pair_list) / max(1, len(pair_list))

    return {"queries": n, **{f"cosine_recall@{k}": cos_hits[k] / n for k in cos_hits},
            **{f"recall@{k}": hits[k] / n for k in hits},
            "dup_pairs_merged": merged(pairs), "other_pairs_merged": merged(others)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=0, help="Description characters kept per message.")
    parser.add_argument("--hashed", action="store_true", help="Use the hashed n-gram embedder (no extras).")
    args = parser.parse_args()
    if args.hashed:
        from once.learn.embed import HashedNgramEmbedder

        embedder = HashedNgramEmbedder()
        grouping.embed_texts = lambda texts: (embedder.embed(list(texts)), embedder.name)  # type: ignore[assignment]
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the public dedup set is read in place, never copied)")
        return 0
    name = grouping.embed_texts(["x"])[1]
    print(f"embedder: {name}, threshold {grouping.threshold_for(name)}, "
          f"message = summary + {args.chars} description chars")
    for project in PROJECTS:
        started = time.perf_counter()
        messages, queries = load(project, args.chars)
        result = evaluate(messages, queries)
        took = time.perf_counter() - started
        print(f"{project:<10} {len(messages)} reports, {result['queries']} queries  "
              f"recall@1/5/10 = {result['recall@1']:.3f} / {result['recall@5']:.3f} / {result['recall@10']:.3f}  "
              f"(cosine only: {result['cosine_recall@10']:.3f} @10)  "
              f"merged at threshold: dup pairs {result['dup_pairs_merged']:.3f}, "
              f"other pairs {result['other_pairs_merged']:.4f}  [{took:.1f}s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
