"""The oracle's bound on pruning: its likelihood-ratio test has the Neyman-Pearson power computed
by hand, holds its level, and the simulator reports it from a run's own exposures."""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import prune_bound  # noqa: E402


def _binomial_tail(n: int, p: float, above: int) -> float:
    return sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(above + 1, n + 1))


def _exact_power(n: int, c0: float, c1: float, level: float) -> float:
    """The randomized most powerful test of Binomial(n, c0) against Binomial(n, c1 > c0), exactly."""
    k = next(k for k in range(n + 1) if _binomial_tail(n, c0, k) <= level)
    at = math.comb(n, k) * c0 ** k * (1 - c0) ** (n - k)
    tie = (level - _binomial_tail(n, c0, k)) / at
    return _binomial_tail(n, c1, k) + tie * math.comb(n, k) * c1 ** k * (1 - c1) ** (n - k)


def test_one_session_is_the_randomized_test_worked_by_hand() -> None:
    # Stuck is the only evidence for harm; at level 0.25 it is rejected on half the stuck draws:
    # power 0.9 * 0.5.
    power = prune_bound.oracle_power([(0.5, 0.9)], 0.25, np.random.default_rng(1))
    assert abs(power - 0.45) < 0.02


def test_many_sessions_match_the_exact_neyman_pearson_power() -> None:
    pairs = [(0.5, 0.6)] * 100
    for level in (0.05, 0.01):
        exact = _exact_power(100, 0.5, 0.6, level)
        assert abs(prune_bound.oracle_power(pairs, level, np.random.default_rng(2)) - exact) < 0.02
    # Sessions with different chances pool into one test with more power than either part.
    mixed = [(0.5, 0.6)] * 100 + [(0.3, 0.45)] * 100
    assert prune_bound.oracle_power(mixed, 0.05, np.random.default_rng(3)) > _exact_power(100, 0.3, 0.45, 0.05)


def test_no_effect_or_no_sessions_gives_no_power() -> None:
    rng = np.random.default_rng(4)
    assert prune_bound.oracle_power([(0.4, 0.4)] * 50, 0.05, rng) == 0.0
    assert prune_bound.oracle_power([], 0.05, rng) == 0.0


def test_the_bound_uses_e_bh_bar_and_the_pipeline_reading() -> None:
    reading = prune_bound.Reading.from_counts(Counter({(True, 0): 60, (True, 1): 40, (False, 1): 90, (False, 0): 10}))
    assert (reading.failure_if_stuck, reading.failure_if_not) == (0.6, 0.1)
    assert abs(reading.read(0.5) - 0.35) < 1e-12
    strong = [(0.3, 0.7)] * 150
    result = prune_bound.bound({"a": strong, "b": []}, {"a": strong, "b": strong}, bank_size=40, alpha=0.05,
                               seed=1, reading=reading).as_dict()
    assert result["bar"] == 400.0  # 40 entries, both harmful ones pruned together: 40 / (0.05 * 2)
    # "a" is all but certain to be found; "b" was never injected, so only the every-session case finds it.
    assert 0.95 < result["expected_pruned_as_exposed"] <= 1.0
    assert result["expected_pruned_every_session"] > 1.9
    # What the pipeline reads blurs the effect: the bound can only fall.
    assert result["expected_pruned_as_exposed_read"] < result["expected_pruned_as_exposed"]
