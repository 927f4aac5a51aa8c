"""File localization on SWE-bench Lite (the dev split): recall@1/5/10 of stage one.

For each instance, the repository is checked out at `base_commit`, the index is
refreshed (incrementally: consecutive instances of a repo share one working copy),
and the problem statement is ranked. A hit at k means every file the gold patch
touches is in the top k.

Repositories are not downloaded: give a directory of existing clones with
`--repos DIR` (or $ONCE_SWEBENCH_REPOS). A clone of `owner/name` is looked for as
DIR/owner__name, DIR/owner+name, DIR/owner/name or DIR/name (a work tree or a bare
git directory, possibly in a `repo` subdirectory). Instances whose repository is
absent are skipped, and the run says so.

Run: python benchmarks/swebench_localization.py --repos DIR [--only psf/requests] [--limit N]
     [--json results.json] [--data PATH]

Measured on the 140 Lite instances of the nine repositories that can be cloned
(requests, sympy, flask, astropy, pytest, xarray, sphinx, pylint, seaborn):
all gold files in the top 1 / 5 / 10 = 50.7% / 74.3% / 81.4%, against 30.0% / 54.3% /
65.0% for plain BM25 over path + contents. Django, matplotlib and scikit-learn (160
instances) were not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

KS = (1, 5, 10)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "swebench" / "lite.json"
_DIFF = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)
_MINUS = re.compile(r"^--- a/(\S+)", re.MULTILINE)


@dataclass
class Outcome:
    instance_id: str
    repo: str
    gold: list[str]
    ranked: list[str]
    seconds: float

    def hit(self, k: int) -> bool:
        return set(self.gold) <= set(self.ranked[:k])


def gold_files(patch: str) -> list[str]:
    """Files the patch touches (existing before it: `a/` side, else `b/`)."""
    files = [a if a != "/dev/null" else b for a, b in _DIFF.findall(patch)] or _MINUS.findall(patch)
    return sorted(set(files))


def find_clone(repos_dir: Path, repo: str) -> Path | None:
    owner, name = repo.split("/", 1)
    for candidate in (repos_dir / f"{owner}__{name}", repos_dir / f"{owner}+{name}", repos_dir / owner / name,
                      repos_dir / name):
        for place in (candidate, candidate / "repo"):
            if (place / ".git").exists() or ((place / "HEAD").is_file() and (place / "objects").is_dir()):
                return place
    return None


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


def checkout(work: Path, commit: str) -> None:
    """Check out `commit`; blobs missing from a partial clone (big data files) are left out."""
    args = ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", commit]
    try:
        _git(work, *args)
    except RuntimeError:
        missing = _missing_blobs(work, commit)
        if not missing:
            raise
        _git(work, "config", "core.sparseCheckout", "true")
        sparse = Path(_git(work, "rev-parse", "--git-path", "info/sparse-checkout").strip())
        sparse = sparse if sparse.is_absolute() else work / sparse
        sparse.parent.mkdir(parents=True, exist_ok=True)
        old = sparse.read_text().splitlines() if sparse.exists() else ["/*"]
        sparse.write_text("\n".join(dict.fromkeys(old + [f"!/{path}" for path in missing])) + "\n")
        _git(work, *args)
    _git(work, "clean", "-qfdx")


def _missing_blobs(work: Path, commit: str) -> list[str]:
    entries = [line.split("\t", 1) for line in _git(work, "ls-tree", "-r", commit).splitlines()]
    blobs = [(meta.split()[2], path) for meta, path in entries if meta.split()[1] == "blob"]
    proc = subprocess.run(["git", "cat-file", "--batch-check"], cwd=work, capture_output=True, text=True,
                          input="\n".join(sha for sha, _ in blobs) + "\n")
    answers = proc.stdout.splitlines()
    return [path for (_sha, path), line in zip(blobs, answers, strict=False) if line.endswith("missing")]


def evaluate(instances: list[dict[str, Any]], repos_dir: Path, work_dir: Path,
             log: Callable[[str], None] = print) -> tuple[list[Outcome], dict[str, int]]:
    """Rank every instance whose repository has a clone; return outcomes and skip counts per repo."""
    from once.index.index import refresh_index
    from once.index.rank import rank_files
    from once.store.db import connect
    from once.store.migrations import migrate

    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for instance in instances:
        by_repo[instance["repo"]].append(instance)
    outcomes: list[Outcome] = []
    skipped: dict[str, int] = {}
    for repo, group in sorted(by_repo.items()):
        clone = find_clone(repos_dir, repo)
        if clone is None:
            skipped[repo] = len(group)
            log(f"skip {repo}: no clone under {repos_dir} ({len(group)} instances)")
            continue
        work = work_dir / repo.replace("/", "__")
        if not work.exists():
            _git(work_dir, "clone", "--quiet", "--shared", "--no-checkout", str(clone), str(work))
        conn = connect(work_dir / f"{repo.replace('/', '__')}.db")  # one index per repo: its own BM25 statistics
        try:
            migrate(conn)
            for instance in group:
                checkout(work, instance["base_commit"])
                start = time.perf_counter()
                refresh_index(conn, work)
                ranked = [c.path for c in rank_files(conn, work, instance["problem_statement"], limit=max(KS))]
                outcome = Outcome(instance["instance_id"], repo, gold_files(instance["golden_patch"]), ranked,
                                  time.perf_counter() - start)
                outcomes.append(outcome)
                log(f"{outcome.instance_id:<40} {_best_k(outcome):<5} {outcome.seconds:5.2f}s  "
                    f"gold {', '.join(outcome.gold)}")
        finally:
            conn.close()
    return outcomes, skipped


def _best_k(outcome: Outcome) -> str:
    return next((f"@{k}" for k in KS if outcome.hit(k)), "miss")


def summarize(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    """Recall@k per repository and overall, in percent."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.repo].append(outcome)
        groups["all"].append(outcome)
    return {repo: {"n": len(items), **{f"@{k}": round(100 * sum(o.hit(k) for o in items) / len(items), 1)
                                       for k in KS}}
            for repo, items in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repos", type=Path, default=os.environ.get("ONCE_SWEBENCH_REPOS"))
    parser.add_argument("--only", action="append", default=[], help="owner/name; may repeat")
    parser.add_argument("--limit", type=int, default=0, help="at most N instances per repository")
    parser.add_argument("--json", type=Path, help="write per-instance results here")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: no SWE-bench data at {args.data} (give --data PATH)")
        return 0
    if args.repos is None or not Path(args.repos).is_dir():
        print("skipped: no directory of repository clones (give --repos DIR or set ONCE_SWEBENCH_REPOS); "
              "the repositories cannot be downloaded from here")
        return 0
    instances = json.loads(args.data.read_text())
    if args.only:
        instances = [i for i in instances if i["repo"] in args.only]
    if args.limit:
        instances = _first_per_repo(instances, args.limit)
    with tempfile.TemporaryDirectory(prefix="once-swebench-") as tmp:
        outcomes, skipped = evaluate(instances, Path(args.repos), Path(tmp),
                                     log=(lambda _line: None) if args.quiet else print)
    report(outcomes, skipped)
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0


def _first_per_repo(instances: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for instance in instances:
        seen[instance["repo"]] += 1
        if seen[instance["repo"]] <= limit:
            kept.append(instance)
    return kept


def report(outcomes: list[Outcome], skipped: dict[str, int]) -> None:
    if skipped:
        print(f"skipped {sum(skipped.values())} instances without a clone: "
              + ", ".join(f"{repo} ({n})" for repo, n in sorted(skipped.items())))
    if not outcomes:
        print("no instance could be evaluated")
        return
    print(f"\n{'repository':<28} {'n':>4} {'@1':>6} {'@5':>6} {'@10':>6}")
    for repo, row in summarize(outcomes).items():
        print(f"{repo:<28} {row['n']:>4} {row['@1']:>6} {row['@5']:>6} {row['@10']:>6}")
    seconds = sorted(o.seconds for o in outcomes)
    print(f"\nmedian refresh + rank per instance: {seconds[len(seconds) // 2]:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
