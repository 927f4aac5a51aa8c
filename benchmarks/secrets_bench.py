"""Secret detection: recall on the public corpus, false positives per MB on real code,
throughput; side by side with detect-secrets 1.5 on the same inputs.

- Recall: the corpus `tp` cases (gitleaks and detect-secrets rule tests); a case counts as
  found when there is at least one finding in its text. Also reported without the cases
  the placeholder policy rejects on purpose (`policy_exclusion`: masked values such as
  `AP6xxxxxxxxxx`, documentation examples, format templates, public IP addresses).
- Flag rate on `rule_fp` cases: informational, such a case may hold a secret of another kind.
- False positives per MB: the `.py` files of a site-packages directory (secret-free code;
  this interpreter's, or `--site-packages PATH`), with a per-rule breakdown and a sample of
  flagged lines to judge by eye. Throughput is CPU time. detect-secrets
  scans ~3 s/MB, so it gets a sample of the files (every k-th, `--ds-mb`), and once is
  measured on that same sample too.

detect-secrets is not a dependency of once: install it to get its column
(`pip install detect-secrets==1.5.0`); without it the column is skipped, saying so.

Run: python benchmarks/secrets_bench.py [--mb 40] [--site-packages PATH] [--ds-mb 4]
     [--samples 20] [--corpus PATH]

Measured on a shared 2-core machine (Python 3.11):
- once: recall 135/167 = 80.8% on all tp cases, 135/135 = 100% without the 32 policy
  exclusions (22 masked values such as AP6xxxxxxxxxx, 5 public IPs, 2 `{secret}` templates,
  1 AWS EXAMPLE key, 1 username:password, 1 service-account marker); 38/385 rule_fp cases
  flagged; 0.01 FP/MB on 165 MB of .py (10,262 files) in a virtualenv's site-packages with
  boto3, botocore, awscli, numpy, pandas, scipy, sympy, matplotlib, django, sqlalchemy,
  scikit-learn, networkx, pygments, sphinx, requests and flask installed (`--mb 1000
  --site-packages PATH`): 1 finding, the `scott:tiger^5HHH` password of a documentation
  URL in SQLAlchemy (0.10 FP/MB, 16 findings, before setting names as values, format
  strings, subscripts, `dest_key`, reverse-DNS names and `'pass': 'bandpass'` were told
  apart); 0.00 on detect-secrets' 3.6 MB sample; 25 MB/s.
- detect-secrets 1.5: recall 97/167 = 58.1% (74/135 = 54.8% without the exclusions); 65/385
  rule_fp flagged; 0.69-0.81 FP/MB on 4-6 MB samples; 0.3 MB/s.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "eval" / "secrets" / "cases.jsonl"

_POLICY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"x{6,}"), "the value is a mask (xxxx): a placeholder"),
    (re.compile(r"EXAMPLE"), "an AWS documentation example value"),
    (re.compile(r"""^["']\{secret\}["']$"""), "a format template ({secret}), not a value"),
    (re.compile(r"://username:password@"), "placeholder credentials (username:password)"),
    (re.compile(r'^"type": "service_account"$'),
     "a file-type marker, not a secret (the private key in such a file is found)"),
)


def policy_exclusion(case: dict[str, Any]) -> str | None:
    """Why a corpus `tp` case is not a secret under once's placeholder policy, or None."""
    if case["rule"] == "ip_public":
        return "a public IP address is not a secret"
    return next((reason for pattern, reason in _POLICY if pattern.search(case["text"])), None)


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


Detector = Callable[[list[tuple[str, str]]], list[list[str]]]
"""(name, text) pairs -> for each, the flagged lines (one entry per finding)."""


def once_detector(items: list[tuple[str, str]]) -> list[list[str]]:
    from once.safety.secrets import find_secrets

    out = []
    for _name, text in items:
        lines = text.splitlines()
        out.append([f"{f.rule}\t{lines[f.line - 1].strip()[:140] if lines else ''}" for f in find_secrets(text)])
    return out


def ds_detector(items: list[tuple[str, str]]) -> list[list[str]]:
    """detect-secrets with its default plugins and filters, each text scanned as a file."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    out = []
    with tempfile.TemporaryDirectory() as tmp, default_settings():
        for index, (name, text) in enumerate(items):
            path = Path(tmp) / f"{index}_{Path(name).name}"
            path.write_text(text, encoding="utf-8")
            collection = SecretsCollection()
            collection.scan_file(str(path))
            lines = text.splitlines()
            out.append([f"{s.type}\t{lines[s.line_number - 1].strip()[:140] if s.line_number else ''}"
                        for found in collection.data.values() for s in found])
            path.unlink()
    return out


def ds_available() -> str | None:
    try:
        import detect_secrets  # noqa: F401
    except ImportError:
        return "detect-secrets is not installed (pip install detect-secrets==1.5.0): its column is skipped"
    return None


@dataclass
class Column:
    recall: str = "-"
    recall_policy: str = "-"
    rule_fp: str = "-"
    fp_sample: str = "-"
    fp_full: str = "-"
    speed: str = "-"
    notes: list[str] = field(default_factory=list)


def corpus_figures(cases: list[dict[str, Any]], detect: Detector, column: Column, name: str) -> None:
    tp = [c for c in cases if c["label"] == "tp"]
    fp = [c for c in cases if c["label"] == "rule_fp"]
    hits = [bool(r) for r in detect([(f"case_{c['rule']}.txt", c["text"]) for c in tp])]
    eligible = [h for c, h in zip(tp, hits) if policy_exclusion(c) is None]
    column.recall = f"{sum(hits)}/{len(tp)} = {sum(hits) / len(tp):.1%}"
    column.recall_policy = f"{sum(eligible)}/{len(eligible)} = {sum(eligible) / len(eligible):.1%}"
    flagged = sum(bool(r) for r in detect([(f"case_{c['rule']}.txt", c["text"]) for c in fp]))
    column.rule_fp = f"{flagged}/{len(fp)} = {flagged / len(fp):.1%}"
    missed = Counter(c["rule"] for c, h in zip(tp, hits) if not h)
    column.notes.append(f"{name} misses by corpus rule: {dict(missed.most_common())}")


def site_packages_files(limit_mb: float, root: Path | None = None) -> list[tuple[str, str]]:
    """The `.py` files under `root` (this interpreter's site-packages by default), up to `limit_mb`."""
    root = root or Path(sysconfig.get_paths()["purelib"])
    files: list[tuple[str, str]] = []
    total = 0
    for path in sorted(root.rglob("*.py")):
        if "detect_secrets" in path.parts:
            continue  # its own tests and plugins are full of example secrets
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        files.append((str(path.relative_to(root)), text))
        total += len(text.encode())
        if total >= limit_mb * 1e6:
            break
    return files


def megabytes(items: list[tuple[str, str]]) -> float:
    return sum(len(text.encode()) for _, text in items) / 1e6


def fp_figures(items: list[tuple[str, str]], detect: Detector) -> tuple[float, float, list[tuple[str, str]]]:
    """(findings per MB, MB/s of CPU time, flagged (path, line) pairs)."""
    start = time.process_time()  # a busy machine slows the wall clock, not the work
    results = detect(items)
    seconds = time.process_time() - start
    flagged = [(name, line) for (name, _), found in zip(items, results) for line in found]
    size = megabytes(items)
    return len(flagged) / size, size / seconds, flagged


def show_flagged(title: str, flagged: list[tuple[str, str]], samples: int) -> None:
    by_rule = Counter(line.split("\t", 1)[0] for _, line in flagged)
    print(f"\n{title}: {len(flagged)} finding(s); by rule: {dict(by_rule.most_common()) or '{}'}")
    for name, line in flagged[:samples]:
        rule, _, context = line.partition("\t")
        print(f"  {name}: [{rule}] {context}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--mb", type=float, default=40.0, help="MB of site-packages .py files for once")
    parser.add_argument("--site-packages", type=Path, default=None, metavar="PATH",
                        help="scan the .py files of this site-packages directory (default: this interpreter's)")
    parser.add_argument("--ds-mb", type=float, default=4.0, help="MB sampled for detect-secrets (slow)")
    parser.add_argument("--samples", type=int, default=20, help="flagged lines to print per detector")
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"skip: the secrets corpus is not at {args.corpus} (it lives in shared/eval/secrets/)")
        return
    cases = load_corpus(args.corpus)
    ds_missing = ds_available()
    ours, theirs = Column(), Column()
    corpus_figures(cases, once_detector, ours, "once")
    if ds_missing is None:
        corpus_figures(cases, ds_detector, theirs, "detect-secrets")

    if args.site_packages is not None and not args.site_packages.is_dir():
        print(f"error: --site-packages {args.site_packages} is not a directory")
        return
    full = site_packages_files(args.mb, args.site_packages)
    per_mb, speed, flagged_full = fp_figures(full, once_detector)
    ours.fp_full, ours.speed = f"{per_mb:.2f} ({megabytes(full):.1f} MB, {len(full)} files)", f"{speed:.1f}"
    step = max(1, round(megabytes(full) / args.ds_mb))
    sample = full[::step]
    sample_note = f"every {step}th file: {megabytes(sample):.1f} MB, {len(sample)} files"
    per_mb_sample, _, _ = fp_figures(sample, once_detector)
    ours.fp_sample = f"{per_mb_sample:.2f}"
    flagged_ds: list[tuple[str, str]] = []
    if ds_missing is None:
        ds_per_mb, ds_speed, flagged_ds = fp_figures(sample, ds_detector)
        theirs.fp_sample, theirs.speed = f"{ds_per_mb:.2f}", f"{ds_speed:.2f} (sample)"

    rows = [
        ("corpus recall, all tp cases", ours.recall, theirs.recall),
        ("corpus recall, without policy exclusions", ours.recall_policy, theirs.recall_policy),
        ("rule_fp cases flagged (informational)", ours.rule_fp, theirs.rule_fp),
        (f"FP per MB, site-packages sample ({sample_note})", ours.fp_sample, theirs.fp_sample),
        ("FP per MB, site-packages .py", ours.fp_full, theirs.fp_full),
        ("throughput, MB/s", ours.speed, theirs.speed),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'once':<32}  detect-secrets 1.5")
    for label, a, b in rows:
        print(f"{label:<{width}}  {a:<32}  {b}")
    print("targets: recall >= 95%, <= 1 FP per MB, >= 20 MB/s")
    excluded = Counter(r for c in cases if c["label"] == "tp" and (r := policy_exclusion(c)))
    print(f"\npolicy exclusions ({sum(excluded.values())} tp cases): {dict(excluded)}")
    for note in ours.notes + theirs.notes:
        print(note)
    if ds_missing:
        print(ds_missing)
    show_flagged("once on site-packages", flagged_full, args.samples)
    if ds_missing is None:
        show_flagged("detect-secrets on the sample", flagged_ds, args.samples)


if __name__ == "__main__":
    sys.exit(main())
