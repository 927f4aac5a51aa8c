"""The prune-power benchmark measures the shipped e-process: under no effect its bars are crossed
as rarely as Ville's inequality allows, and a large harm crosses them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import prune_power  # noqa: E402

BARS = {"ten": 10.0, "twenty": 20.0}


def test_without_effect_the_bars_are_crossed_at_most_as_often_as_their_level() -> None:
    hits = prune_power.sessions_to_bar(np.random.default_rng(3), effect=0.0, base=0.5, holdout=0.5, trials=300,
                                       horizon=600, bars=BARS)
    crossed = {name: sum(h is not None for h in values) / 300 for name, values in hits.items()}
    # 1/bar is the bound; three binomial standard errors of slack (0.017 at 0.1 and 300 trials)
    assert crossed["ten"] <= 0.1 + 0.052 and crossed["twenty"] <= 0.05 + 0.038


def test_a_large_harm_crosses_the_bars_and_the_higher_bar_later() -> None:
    hits = prune_power.sessions_to_bar(np.random.default_rng(4), effect=0.3, base=0.4, holdout=0.5, trials=60,
                                       horizon=600, bars=BARS)
    assert all(h is not None for h in hits["ten"])
    assert all(b is None or a <= b for a, b in zip(hits["ten"], hits["twenty"]))
    ten, twenty = prune_power.summary(hits["ten"], 600), prune_power.summary(hits["twenty"], 600)
    assert ten["reached"] == 1.0 and twenty["median"] is not None and twenty["median"] >= ten["median"]
