"""File localization on SWE-bench Lite (the dev split): recall@1/5/10 of stage one and stage two.

For each instance, the repository is checked out at `base_commit`, the index is
refreshed (incrementally: consecutive instances of a repo share one working copy),
and the problem statement is ranked. A hit at k means every file the gold patch
touches is in the top k.

Repositories are not downloaded: give a directory of existing clones with
`--repos DIR` (or $ONCE_SWEBENCH_REPOS). A clone of `owner/name` is looked for as
DIR/owner__name, DIR/owner+name, DIR/owner/name or DIR/name (a work tree or a bare
git directory, possibly in a `repo` subdirectory). Instances whose repository is
absent are skipped, and the run says so. `--candidates FILE` saves stage one's rankings
(and reads them back on the next run, which then needs no clones).

Stage two (`--stage-two --base-url URL --model NAME [--show 30]`) runs the product's
`select_files` on each instance's stage-one candidates against an OpenAI-compatible server
and scores, on the same instances, stage one, the model's list (what the product uses), and
ways of merging it with stage one's order, all from the same answers; with seconds and
prompt tokens per query. `--half 1|2` takes every other instance of each repository: tune
on one half, report the other.

Run: python benchmarks/swebench_localization.py --repos DIR [--only psf/requests] [--limit N]
     [--half 1|2] [--json results.json] [--candidates ranked.json] [--data PATH]
     [--stage-two --base-url URL --model NAME [--show N] [--max-files N]]

Measured on the 140 Lite instances of the nine repositories that can be cloned
(requests, sympy, flask, astropy, pytest, xarray, sphinx, pylint, seaborn):
all gold files in the top 1 / 5 / 10 = 50.7% / 74.3% / 81.4%, against 30.0% / 54.3% /
65.0% for plain BM25 over path + contents, and 76.4% / 92.9% / 93.6% for LocAgent's
published localizations with Claude 3.5 on the same instances (93.7% at 5 on all 300).
Django, matplotlib and scikit-learn (160 instances) were not measured. Every instance
here touches one file. Stage one's top 15 / 20 / 30 hold it for 83.6% / 85.0% / 87.9%:
stage two, which only reorders what it is shown, can reach 85% at 5 only if it is shown
at least 20 and, from 30, puts the file in its top 5 for 119 of the 123 where it is there.

Stage two with Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, llama.cpp, one thread, greedy), shown
30 candidates, at most 12 instances per repository. Tuning half (45): stage one 46.7 /
71.1 / 77.8; the model's list 42.2 / 62.2 / 62.2 (it dropped 6 files stage one had in its
top 5 and lifted 2); keeping stage one's first file first, then the picks, then the rest:
46.7 / 75.6 / 77.8, the best merge. Held-out half (42): stage one 52.4 / 69.0 / 81.0;
the model's list 52.4 / 69.0 / 69.0; the merge 52.4 / 69.0 / 71.4 (picks from far down
push stage one's 9th and 10th out). No gain at 5 held out, so the product keeps its
selection as it was. Over the 87 queries: median 79 s, mean 91 s per query (median 1,380
prompt tokens, read at about 20 tokens/s, up to 8,770 for a long issue), on a 2-core
machine shared with other work (load average 2 to 5). Of the 77 whose file was among the
30 shown, stage one had it in its top 5 for 61, the 1.5B model for 57, LocAgent for 76.
Qwen2.5-Coder-0.5B, stopped after 15 held-out instances: never better than stage one,
worse on 2, an unusable answer on 4.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

KS = (1, 5, 10)
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "eval" / "swebench" / "lite.json"
LOCAGENT = "locagent_claude35_lite.jsonl"
"""LocAgent's published Lite localizations (with Claude 3.5), beside the data: scored on the same instances."""
_DIFF = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)
_MINUS = re.compile(r"^--- a/(\S+)", re.MULTILINE)


@dataclass
class Outcome:
    instance_id: str
    repo: str
    gold: list[str]
    ranked: list[str]
    seconds: float
    symbols: dict[str, list[str]] = field(default_factory=dict)
    """Each ranked file's top symbols: what stage two shows the small model."""

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
             log: Callable[[str], None] = print, limit: int = max(KS)) -> tuple[list[Outcome], dict[str, int]]:
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
                ranked = rank_files(conn, work, instance["problem_statement"], limit=limit)
                outcome = Outcome(instance["instance_id"], repo, gold_files(instance["golden_patch"]),
                                  [c.path for c in ranked], time.perf_counter() - start,
                                  {c.path: c.symbols for c in ranked})
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


def stage_two_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage two: the small model picks among stage one's candidates")
    group.add_argument("--stage-two", action="store_true")
    group.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1")
    group.add_argument("--model", help="the model name the server answers to")
    group.add_argument("--show", type=int, default=30, help="candidates shown to the model (the product shows 30)")
    group.add_argument("--max-files", type=int, default=8, help="at most this many picks (the product's default)")


@dataclass
class Picked:
    files: list[str]
    """What `select_files` returned: the model's picks, or stage one's top when its answer was unusable."""
    method: str
    seconds: float
    input_tokens: int


def merge(picks: list[str], ranked: list[str], keep: int = 0) -> list[str]:
    """Stage one's first `keep` files, then the model's picks, then the rest of stage one's order."""
    return list(dict.fromkeys(ranked[:keep] + picks + ranked))[:max(KS)]


# How the picks meet stage one's order, each scored on the same answers: no extra model call.
VARIANTS: dict[str, Callable[[list[str], list[str]], list[str]]] = {
    "picks alone (the product)": lambda picks, _ranked: picks,
    "picks, then stage one": lambda picks, ranked: merge(picks, ranked),
    **{f"stage one's top {k}, picks, rest": (lambda picks, ranked, k=k: merge(picks, ranked, k)) for k in (1, 2, 3)},
}


def run_stage_two(outcomes: list[Outcome], statements: dict[str, str], args: argparse.Namespace,
                  log: Callable[[str], None]) -> list[Picked]:
    """The product's `select_files` on each instance's stage-one candidates, one model call each."""
    from once.agent.small import small_ask
    from once.index.rank import Candidate
    from once.index.select import select_files
    from once.providers.openai import OpenAIProvider

    small = small_ask(OpenAIProvider(args.base_url, env={}, stream=False, timeout=900.0), args.model)
    picked: list[Picked] = []
    for outcome in outcomes:
        candidates = [Candidate(path, 0.0, [], outcome.symbols.get(path, [])) for path in outcome.ranked]
        tokens_before = small.usage.input_tokens
        start = time.perf_counter()
        selection = select_files(statements[outcome.instance_id], candidates, small, max_files=args.max_files,
                                 show=args.show)
        seconds = time.perf_counter() - start
        picked.append(Picked(selection.files, selection.method, seconds, small.usage.input_tokens - tokens_before))
        log(f"{outcome.instance_id:<40} stage one {_best_k(outcome):<5} picks "
            f"{_best_k(_scored(outcome, selection.files)):<5} {seconds:6.1f}s "
            f"{picked[-1].input_tokens:>6} tokens in  {selection.method}")
    return picked


def _scored(outcome: Outcome, files: list[str]) -> Outcome:
    return Outcome(outcome.instance_id, outcome.repo, outcome.gold, files, 0.0)


def locagent_outcomes(path: Path, outcomes: list[Outcome]) -> list[Outcome]:
    """LocAgent's found files for the same instances (none when its file is absent)."""
    if not path.is_file():
        return []
    found = {row["instance_id"]: row["found_files"] for row in map(json.loads, path.read_text().splitlines()) if row}
    return [_scored(o, found[o.instance_id]) for o in outcomes if o.instance_id in found]


def report_same_instances(rows: dict[str, list[Outcome]]) -> None:
    print(f"\n{'same instances':<40} {'n':>4} {'@1':>6} {'@5':>6} {'@10':>6}")
    for name, outcomes in rows.items():
        if outcomes:
            row = summarize(outcomes)["all"]
            print(f"{name:<40} {row['n']:>4} {row['@1']:>6} {row['@5']:>6} {row['@10']:>6}")


def report_stage_two(outcomes: list[Outcome], picked: list[Picked], locagent: list[Outcome]) -> None:
    rows = {"stage one": outcomes}
    for name, combine in VARIANTS.items():
        rows[f"+ two: {name}"] = [_scored(o, combine(p.files, o.ranked))
                                  for o, p in zip(outcomes, picked, strict=True)]
    report_same_instances({**rows, "LocAgent (Claude 3.5), published": locagent})
    seconds = sorted(p.seconds for p in picked)
    tokens = sorted(p.input_tokens for p in picked)
    used = sum(p.method == "small_model" for p in picked)
    print(f"the model's answer was used on {used} of {len(picked)} (else stage one's order); seconds per query: "
          f"median {seconds[len(seconds) // 2]:.1f}, mean {sum(seconds) / len(seconds):.1f}; "
          f"prompt tokens: median {tokens[len(tokens) // 2]}; load average now "
          + " ".join(f"{value:.1f}" for value in os.getloadavg()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repos", type=Path, default=os.environ.get("ONCE_SWEBENCH_REPOS"))
    parser.add_argument("--only", action="append", default=[], help="owner/name; may repeat")
    parser.add_argument("--limit", type=int, default=0, help="at most N instances per repository")
    parser.add_argument("--half", type=int, choices=(1, 2),
                        help="every other instance of each repository (1: the first, third, ...; 2: the others)")
    parser.add_argument("--json", type=Path, help="write per-instance results here")
    parser.add_argument("--candidates", type=Path,
                        help="stage one's rankings: read from this file when it exists (no clones needed), "
                             "else written to it")
    parser.add_argument("--quiet", action="store_true")
    stage_two_options(parser)
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: no SWE-bench data at {args.data} (give --data PATH)")
        return 0
    cached = args.candidates is not None and args.candidates.is_file()
    if not cached and (args.repos is None or not Path(args.repos).is_dir()):
        print("skipped: no directory of repository clones (give --repos DIR or set ONCE_SWEBENCH_REPOS); "
              "the repositories cannot be downloaded from here")
        return 0
    if args.stage_two and not (args.base_url and args.model):
        print("--stage-two needs --base-url URL and --model NAME (an OpenAI-compatible server)")
        return 2
    instances = select_instances(json.loads(args.data.read_text()), args.only, args.limit, args.half)
    log = (lambda _line: None) if args.quiet else functools.partial(print, flush=True)  # model calls are slow
    if cached:
        wanted = {i["instance_id"] for i in instances}
        outcomes = [o for o in load_outcomes(args.candidates) if o.instance_id in wanted]
        skipped = {}
    else:
        with tempfile.TemporaryDirectory(prefix="once-swebench-") as tmp:
            # Stage two is shown up to --show candidates; stage one alone is scored on its top 10.
            outcomes, skipped = evaluate(instances, Path(args.repos), Path(tmp), log=log,
                                         limit=max(max(KS), args.show))
        if args.candidates:
            args.candidates.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    report(outcomes, skipped)
    locagent = locagent_outcomes(args.data.parent / LOCAGENT, outcomes)
    results = [asdict(o) for o in outcomes]
    if args.stage_two and outcomes:
        statements = {i["instance_id"]: i["problem_statement"] for i in instances}
        picked = run_stage_two(outcomes, statements, args, log)
        report_stage_two(outcomes, picked, locagent)
        results = [{**asdict(o), "stage_two": asdict(p)} for o, p in zip(outcomes, picked, strict=True)]
    elif locagent:
        report_same_instances({"stage one": outcomes, "LocAgent (Claude 3.5), published": locagent})
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def select_instances(instances: list[dict[str, Any]], only: list[str], limit: int,
                     half: int | None) -> list[dict[str, Any]]:
    if only:
        instances = [i for i in instances if i["repo"] in only]
    if half:
        # Alternating within each repository keeps both halves spread over the same repositories.
        position: dict[str, int] = defaultdict(int)
        kept = []
        for instance in instances:
            if position[instance["repo"]] % 2 == half - 1:
                kept.append(instance)
            position[instance["repo"]] += 1
        instances = kept
    return _first_per_repo(instances, limit) if limit else instances


def load_outcomes(path: Path) -> list[Outcome]:
    return [Outcome(**{key: row[key] for key in ("instance_id", "repo", "gold", "ranked", "seconds", "symbols")})
            for row in json.loads(path.read_text())]


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
