"""How many sessions it takes to prune a harmful entry: the evidence the real e-process gathers.

One entry whose injection raises the stuck chance from `--base` by `--effect`, measured the
way `agent learn` measures it (`once.learn.stats.e_process`, direction "harm", each session's
arm drawn with the entry's holdout). For each bar the printout gives the median and the 90th
percentile of the entry's own sessions (with a known outcome) until its e-process first
reaches the bar, over `--trials` simulated entries:

- 10: demoted (the per-entry doubt bar, 1/doubt_alpha: an entry without effect is ever demoted
  with probability at most 0.1);
- 20: a per-entry test at 0.05;
- K/alpha for a bank of K hypotheses: what e-BH asks of the only entry it rejects (the bar
  falls to K/(alpha m) when m entries are rejected together).

A single user's sessions are spread over their problem types, so a user with T types of
problem and an entry retrieved for its own type only needs about T times as many sessions in
all; a team of N members shares that among N. The bars are crossed at `agent learn`, so a
look every L sessions adds up to L/2.

Run: python benchmarks/prune_power.py [--effect 0.10] [--base 0.5] [--holdout 0.5] [--json]

Measured (seed 1, 400 trials, base 0.5, holdout 0.5; sessions of the entry, median / p90):
effect +0.10: 10 -> 608 / 1,460, 20 -> 800 / 1,803, K=30: 1,598 / 2,922, K=120: 1,860 / 3,258;
effect +0.15: 10 -> 244 / 619, K=120: 816 / 1,403; effect +0.05: 10 -> 2,752 / 7,235, and e-BH's
bar at K=120 is reached within 8,000 sessions by 49% of entries.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from once.learn.stats import log_e_paths

ALPHA = 0.05


def sessions_to_bar(rng: np.random.Generator, *, effect: float, base: float, holdout: float,
                    trials: int, horizon: int, bars: dict[str, float]) -> dict[str, list[int | None]]:
    """Per bar, each trial's first session count at which the harm e-process reached it (None: not
    within `horizon`)."""
    injected = rng.random((trials, horizon)) >= holdout
    stuck_chance = np.where(injected, base + effect, base)
    outcome = (rng.random((trials, horizon)) >= stuck_chance).astype(float)  # 1: not stuck
    out: dict[str, list[int | None]] = {name: [None] * trials for name in bars}
    for t in range(trials):
        path = _log_path(injected[t], outcome[t], holdout)
        for name, bar in bars.items():
            hits = np.flatnonzero(path >= np.log(bar))
            out[name][t] = int(hits[0]) + 1 if len(hits) else None
    return out


def _log_path(injected: np.ndarray, outcome: np.ndarray, holdout: float) -> np.ndarray:
    """The log e-value after each session, from the shipped e-process (not a copy of it)."""
    _, path = log_e_paths(np.zeros(len(injected), dtype=np.int64), injected, outcome,
                          np.full(len(injected), holdout), direction="harm")
    return path


def summary(hits: list[int | None], horizon: int) -> dict[str, float | None]:
    """Median and 90th percentile, counting a miss as beyond the horizon (None when beyond)."""
    values = np.array([h if h is not None else horizon + 1 for h in hits], dtype=float)
    median, p90 = float(np.median(values)), float(np.quantile(values, 0.9))
    return {"median": None if median > horizon else median, "p90": None if p90 > horizon else p90,
            "reached": sum(h is not None for h in hits) / len(hits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--effect", type=float, nargs="+", default=[0.10, 0.05, 0.15])
    parser.add_argument("--base", type=float, default=0.5, help="stuck chance without the entry")
    parser.add_argument("--holdout", type=float, default=0.5)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--horizon", type=int, default=4000, help="sessions of the entry simulated")
    parser.add_argument("--banks", type=int, nargs="+", default=[30, 120, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bars = {"demote (10)": 10.0, "per-entry 0.05 (20)": 20.0,
            **{f"e-BH, K={k} ({k / ALPHA:g})": k / ALPHA for k in args.banks}}
    rng = np.random.default_rng(args.seed)
    result = {}
    for effect in args.effect:
        hits = sessions_to_bar(rng, effect=effect, base=args.base, holdout=args.holdout, trials=args.trials,
                               horizon=args.horizon, bars=bars)
        result[f"{effect:+.2f}"] = {name: summary(h, args.horizon) for name, h in hits.items()}
    if args.json:
        print(json.dumps({"base": args.base, "holdout": args.holdout, "trials": args.trials,
                          "horizon": args.horizon, "effects": result}, indent=2))
        return
    print(f"sessions of one entry until its harm e-process reaches each bar (base {args.base}, holdout "
          f"{args.holdout}, {args.trials} trials; median / p90; '>' beyond {args.horizon:,})")
    for effect, rows in result.items():
        print(f"effect {effect}")
        for name, row in rows.items():
            cells = [f"{row[k]:,.0f}" if row[k] is not None else f">{args.horizon:,}" for k in ("median", "p90")]
            print(f"  {name:<26} {cells[0]:>7} / {cells[1]:<7} reached by {row['reached']:.0%}")


if __name__ == "__main__":
    main()
