"""Grouping quality on duplicate bug reports: recall@1/5/10 of the known duplicate.

Data: ../shared/eval/dedup/ (Hadoop and SeaMonkey bug reports, gitbugs, CC BY 4.0), read
in place. Each report's text is its summary and description. For every report whose known
duplicate is in the same file, all other reports of that project are ranked by cosine
similarity; recall@k is the share of those queries with a known duplicate in the top k.
Published reference: TF-IDF recall@10 = 0.61 on another project of the same set.

Compared: the hashed n-gram embedder (the default without extras), all-MiniLM-L6-v2 int8
ONNX (when the `embeddings` extra is installed) and a plain TF-IDF computed here (word
unigrams, smoothed idf, sublinear tf; it needs the whole corpus, which the stateless
embedders do not). Also: how many known duplicate pairs / other pairs reach each
similarity threshold, to choose the merge threshold.

Run: python benchmarks/dedup_recall.py [--json] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dedup"
PROJECTS = {"hadoop": "hadoop", "seamonkey": "SeaMonkey"}
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def load(prefix: str) -> tuple[list[str], list[str], list[tuple[int, set[int]]]]:
    """(ids, texts, queries): a query is (report index, indices of its known duplicates)."""
    csv.field_size_limit(10**9)
    with open(DATA / f"{prefix}_bugs.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = [r["Issue id"].strip() for r in rows]
    texts = [f"{r['Summary']}\n{r.get('Description') or ''}" for r in rows]
    where = {issue: i for i, issue in enumerate(ids)}
    queries = []
    with open(DATA / f"{prefix}_bugs-combined.csv", newline="", encoding="utf-8") as fh:
        for row in list(csv.reader(fh))[1:]:
            if len(row) < 2 or row[0].strip() not in where:
                continue
            dups = {where[d.strip()] for d in row[1].split(",") if d.strip() in where}
            dups.discard(where[row[0].strip()])
            if dups:
                queries.append((where[row[0].strip()], dups))
    return ids, texts, queries


def tfidf(texts: list[str]) -> np.ndarray:
    """Plain TF-IDF rows (L2-normalized). Terms seen in one document only are left out of
    the matrix (they cannot make two documents similar) but count in each row's norm."""
    docs = [Counter(re.findall(r"\w\w+", t.lower())) for t in texts]
    df = Counter(term for d in docs for term in d)
    n = len(docs)
    shared = sorted(t for t, c in df.items() if c > 1)
    col = {t: i for i, t in enumerate(shared)}
    idf = {t: np.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
    matrix = np.zeros((n, len(shared)), dtype=np.float32)
    for r, d in enumerate(docs):
        weights = {t: (1.0 + np.log(c)) * idf[t] for t, c in d.items()}
        norm = np.sqrt(sum(w * w for w in weights.values())) or 1.0
        for t, w in weights.items():
            if t in col:
                matrix[r, col[t]] = w / norm
    return matrix


def evaluate(vectors: np.ndarray, queries: list[tuple[int, set[int]]]) -> dict[str, Any]:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    hits = {1: 0, 5: 0, 10: 0}
    for q, dups in queries:
        ranked = np.argsort(-sims[q], kind="stable")[:10]
        for k in hits:
            hits[k] += bool(dups & set(ranked[:k].tolist()))
    pair_mask = np.zeros_like(sims, dtype=bool)
    for q, dups in queries:
        for d in dups:
            pair_mask[q, d] = pair_mask[d, q] = True
    upper = np.triu(np.ones_like(pair_mask), k=1)
    dup_sims = sims[pair_mask & upper]
    other_sims = sims[~pair_mask & upper]
    at = {
        f"{t:.1f}": {
            "dup_pairs": round(float((dup_sims >= t).mean()), 3),
            "other_pairs_per_10k": round(float((other_sims >= t).mean()) * 1e4, 2),
        }
        for t in THRESHOLDS
    }
    return {
        "queries": len(queries),
        **{f"recall@{k}": round(v / len(queries), 3) for k, v in hits.items()},
        "dup_pair_median_sim": round(float(np.median(dup_sims)), 3),
        "thresholds": at,
    }


def methods() -> dict[str, Callable[[list[str]], np.ndarray]]:
    from once.learn.embed import HashedNgramEmbedder
    from once.learn.minilm import MiniLMEmbedder, minilm_available

    found: dict[str, Callable[[list[str]], np.ndarray]] = {"tfidf": tfidf}
    hashed = HashedNgramEmbedder()
    found[hashed.name] = hashed.embed
    if minilm_available():
        found["minilm-l6-int8"] = lambda texts: MiniLMEmbedder().embed(texts)
    return found


def run(limit: int | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for key, prefix in PROJECTS.items():
        ids, texts, queries = load(prefix)
        if limit:
            texts, queries = texts[:limit], [(q, d & set(range(limit))) for q, d in queries if q < limit]
            queries = [(q, d) for q, d in queries if d]
        for name, embed in methods().items():
            start = time.perf_counter()
            vectors = embed(texts)
            seconds = time.perf_counter() - start
            entry = evaluate(np.asarray(vectors, dtype=np.float32), queries)
            entry.update(reports=len(texts), seconds=round(seconds, 2), texts_per_s=round(len(texts) / seconds))
            results.setdefault(key, {})[name] = entry
    return results


def print_text(results: dict[str, Any]) -> None:
    for project, by_method in results.items():
        print(f"\n{project}")
        print(f"  {'method':<18} {'queries':>7} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'texts/s':>8}  dup-pair median sim")
        for name, r in by_method.items():
            print(f"  {name:<18} {r['queries']:>7} {r['recall@1']:>6.3f} {r['recall@5']:>6.3f} "
                  f"{r['recall@10']:>6.3f} {r['texts_per_s']:>8}  {r['dup_pair_median_sim']:.3f}")
        print("  share of known duplicate pairs / other pairs per 10k at or above a threshold:")
        for name, r in by_method.items():
            cells = "  ".join(f"{t}: {v['dup_pairs']:.2f}/{v['other_pairs_per_10k']:g}" for t, v in r["thresholds"].items())
            print(f"  {name:<18} {cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N reports of each project")
    args = parser.parse_args()
    if not (DATA / "hadoop_bugs.csv").is_file():
        print(f"skipped: the dedup evaluation data is absent ({DATA})", file=sys.stderr)
        return 0
    results = run(args.limit)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_text(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
