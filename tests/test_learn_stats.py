"""The evaluation statistics against values computed independently (closed forms, plain loops)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from once.learn.stats import (BetaPrior, beta_mean_var, e_bh, e_process, fit_prior, lift_interval, log_e_paths,
                              normal_quantile, prob_greater)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _closed_form_greater(a1: int, b1: int, a2: int, b2: int) -> float:
    """P(X > Y), X ~ Beta(a1, b1), Y ~ Beta(a2, b2), integer a1: the finite-sum closed form."""
    total = 0.0
    for i in range(a1):
        total += math.exp(_log_beta(a2 + i, b1 + b2) - math.log(b1 + i) - _log_beta(1 + i, b1) - _log_beta(a2, b2))
    return total


@pytest.mark.parametrize(
    "a1,b1,a2,b2",
    [(1, 1, 1, 1), (3, 7, 5, 5), (20, 10, 15, 15), (2, 30, 1, 40), (300, 200, 280, 220), (1200, 800, 1150, 850)],
)
def test_prob_greater_matches_the_closed_form(a1: int, b1: int, a2: int, b2: int) -> None:
    got = prob_greater(np.array([a1]), np.array([b1]), np.array([a2]), np.array([b2]))[0]
    assert got == pytest.approx(_closed_form_greater(a1, b1, a2, b2), abs=2e-3)


def test_prob_greater_is_vectorised_and_symmetric() -> None:
    a1, b1, a2, b2 = np.array([3, 9, 40]), np.array([9, 3, 10]), np.array([6, 6, 30]), np.array([6, 6, 20])
    forward = prob_greater(a1, b1, a2, b2)
    backward = prob_greater(a2, b2, a1, b1)
    assert np.allclose(forward + backward, 1.0, atol=2e-3)
    assert forward[0] < 0.5 < forward[1]


def test_fit_prior_without_true_spread_shrinks_hard() -> None:
    # Every unit has exactly the population rate: no spread beyond noise -> the strongest prior.
    prior = fit_prior(np.array([30, 30, 30, 30]), np.array([50, 50, 50, 50]), max_strength=50)
    assert prior.alpha + prior.beta == pytest.approx(50)
    assert prior.mean == pytest.approx(0.6)


def test_fit_prior_method_of_moments_by_hand() -> None:
    s, n = np.array([10, 90, 50, 20]), np.array([100, 100, 100, 100])
    mean = 170 / 400
    observed = float(np.mean((s / n - mean) ** 2))
    noise = mean * (1 - mean) / 100
    expected_strength = mean * (1 - mean) / (observed - noise) - 1
    prior = fit_prior(s, n, min_strength=0.1, max_strength=1000)
    assert prior.alpha + prior.beta == pytest.approx(expected_strength)
    assert prior.mean == pytest.approx(mean)
    assert fit_prior(np.array([]), np.array([])) == BetaPrior(1.0, 1.0)


def test_beta_moments_and_lift_interval() -> None:
    mean, var = beta_mean_var(np.array([2.0]), np.array([3.0]))
    assert mean[0] == pytest.approx(0.4) and var[0] == pytest.approx(2 * 3 / (25 * 6))
    m, lo, hi = lift_interval(np.array([60.0]), np.array([40.0]), np.array([40.0]), np.array([60.0]), level=0.9)
    sd = math.sqrt(2 * 60 * 40 / (100 * 100 * 101))
    assert m[0] == pytest.approx(0.2)
    assert hi[0] - m[0] == pytest.approx(NormalDist().inv_cdf(0.95) * sd)
    # Against draws from the two posteriors: the interval holds about 90% of the difference.
    rng = np.random.default_rng(1)
    diff = rng.beta(60, 40, 200_000) - rng.beta(40, 60, 200_000)
    assert np.mean((diff >= lo[0]) & (diff <= hi[0])) == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize("p", [1e-6, 0.01, 0.3, 0.5, 0.8, 0.975, 0.999999])
def test_normal_quantile(p: float) -> None:
    assert normal_quantile(p) == pytest.approx(NormalDist().inv_cdf(p), abs=1e-8)


def _e_loop(rows: list[tuple[bool, int, float]], direction: str, strata: list[int] | None = None) -> tuple[float, float]:
    """The e-process written out one exposure at a time (the definition, not the vectorised code)."""
    counts: dict[tuple[int, bool], list[int]] = {}  # (stratum, arm) -> [successes, trials]
    e, peak = 1.0, 1.0
    for k, (injected, y, h) in enumerate(rows):
        stratum = strata[k] if strata else 0
        mine, other = counts.setdefault((stratum, True), [0, 0]), counts.setdefault((stratum, False), [0, 0])
        p_i = (mine[0] + 0.5) / (mine[1] + 1)
        p_h = (other[0] + 0.5) / (other[1] + 1)
        p_i = min(p_i, p_h) if direction == "harm" else max(p_i, p_h)
        like_i, like_h = (p_i, p_h) if y else (1 - p_i, 1 - p_h)
        q = (1 - h) * like_i / ((1 - h) * like_i + h * like_h)
        e *= q / (1 - h) if injected else (1 - q) / h
        peak = max(peak, e)
        counts[(stratum, injected)][0] += y
        counts[(stratum, injected)][1] += 1
    return e, peak


def test_e_process_equals_its_definition() -> None:
    rng = np.random.default_rng(7)
    groups, inj, ys, hs, per_group = [], [], [], [], {}
    for g in (2, 0, 1):  # unsorted groups, one empty group (3)
        for _ in range(40 + 10 * g):
            h = 0.2 if rng.random() < 0.7 else 0.5
            injected = bool(rng.random() > h)
            y = int(rng.random() < (0.3 if injected else 0.7))
            groups.append(g), inj.append(injected), ys.append(y), hs.append(h)
            per_group.setdefault(g, []).append((injected, y, h))
    for direction in ("harm", "help"):
        ev = e_process(np.array(groups), np.array(inj), np.array(ys), np.array(hs), 4, direction=direction)
        for g, rows in per_group.items():
            current, peak = _e_loop(rows, direction)
            assert ev.current[g] == pytest.approx(current, rel=1e-9)
            assert ev.peak[g] == pytest.approx(peak, rel=1e-9)
        assert ev.current[3] == 1.0 and ev.peak[3] == 1.0


def test_log_e_paths_give_every_prefix_of_each_group() -> None:
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 3, 120)
    inj = rng.random(120) > 0.4
    ys = (rng.random(120) < np.where(inj, 0.35, 0.6)).astype(int)
    hs = np.full(120, 0.4)
    g, path = log_e_paths(groups, inj, ys, hs, direction="harm")
    assert list(g) == sorted(groups)
    for group in range(3):
        rows = [(bool(i), int(y), 0.4) for gg, i, y in zip(groups, inj, ys) if gg == group]
        mine = path[g == group]
        for n in (1, len(rows) // 2, len(rows)):
            assert math.exp(mine[n - 1]) == pytest.approx(_e_loop(rows[:n], "harm")[0], rel=1e-9)


def test_e_process_with_strata_keeps_plug_ins_per_stratum() -> None:
    rng = np.random.default_rng(11)
    groups, inj, ys, hs, strata = [], [], [], [], []
    for _ in range(300):
        g, m = int(rng.integers(0, 3)), int(rng.integers(0, 2))
        injected = bool(rng.random() > 0.3)
        y = int(rng.random() < (0.8 if injected and m == 0 else 0.4))  # it helps under model 0 only
        groups.append(g), inj.append(injected), ys.append(y), hs.append(0.3), strata.append(m)
    ev = e_process(np.array(groups), np.array(inj), np.array(ys), np.array(hs), 3, direction="help",
                   strata=np.array(strata))
    for g in range(3):
        rows = [(i, y, h) for gg, i, y, h in zip(groups, inj, ys, hs) if gg == g]
        st = [m for gg, m in zip(groups, strata) if gg == g]
        current, peak = _e_loop(rows, "help", st)
        assert ev.current[g] == pytest.approx(current, rel=1e-9) and ev.peak[g] == pytest.approx(peak, rel=1e-9)


def test_e_bh_rejects_the_largest_while_the_kth_clears_k_over_alpha_k() -> None:
    # K = 4, alpha = 0.1: thresholds 40, 20, 13.3, 10 for k = 1..4.
    assert e_bh(np.array([50.0, 1.0, 25.0, 2.0]), 0.1).tolist() == [True, False, True, False]
    assert e_bh(np.array([39.0, 1.0, 1.0, 1.0]), 0.1).tolist() == [False] * 4
    assert e_bh(np.array([11.0, 11.0, 11.0, 11.0]), 0.1).tolist() == [True] * 4
    assert e_bh(np.array([]), 0.1).tolist() == []


def test_e_bh_across_50_null_entries_with_late_outcomes_and_repeated_looks() -> None:
    """50 entries without effect, outcomes arriving in batches (late ones appended, never inserted),
    e-BH at every look with rejections kept: some false prune in at most alpha of the banks."""
    rng = np.random.default_rng(5)
    entries, per_entry, looks, banks, alpha = 50, 120, 12, 120, 0.05
    any_false = 0
    for _ in range(banks):
        base = rng.uniform(0.3, 0.7, entries)
        g = np.repeat(np.arange(entries), per_entry)
        h = np.full(len(g), 0.2)
        inj = rng.random(len(g)) > h
        y = (rng.random(len(g)) < base[g]).astype(int)
        known = rng.integers(0, looks, len(g))  # the look at which each outcome became known
        rejected = np.zeros(entries, dtype=bool)
        for look in range(looks):
            seen = np.flatnonzero(known <= look)
            seen = seen[np.lexsort((seen, known[seen]))]  # in the order outcomes became known
            ev = e_process(g[seen], inj[seen], y[seen], h[seen], entries, direction="harm")
            rejected |= e_bh(ev.current, alpha)
        any_false += bool(rejected.any())
    assert any_false / banks <= alpha


def test_e_process_is_valid_under_the_null_and_powerful_otherwise() -> None:
    rng = np.random.default_rng(3)
    n, groups, h = 200, 1000, 0.3

    def run(p_injected: float, p_holdout: float) -> np.ndarray:
        g = np.repeat(np.arange(groups), n)
        inj = rng.random(groups * n) > h
        base = np.repeat(rng.uniform(0.3, 0.8, groups), n)  # rates differ by group, not by arm
        y = (rng.random(groups * n) < np.where(inj, base + p_injected, base + p_holdout)).astype(int)
        return e_process(g, inj, y, np.full(groups * n, h), groups, direction="harm").peak

    # Ville: the running maximum crosses 1/alpha in at most alpha of null sequences.
    assert np.mean(run(0.0, 0.0) >= 20) <= 0.05
    assert np.mean(run(0.15, 0.0) >= 20) <= 0.01  # helping is no evidence of harm
    assert np.mean(run(-0.25, 0.0) >= 20) >= 0.7


def test_e_process_stays_valid_when_the_holdout_follows_the_evidence() -> None:
    """`agent learn` raises an entry's holdout while it looks harmful and lowers it again when it
    no longer does: the holdout depends on the outcomes so far, but is fixed before each session
    and stored with its exposure, so the e-process stays a test martingale under no effect."""
    rng = np.random.default_rng(8)
    groups, blocks, per_block = 600, 12, 25
    rows: list[tuple[np.ndarray, ...]] = []
    stats = np.zeros((groups, 4))  # injected n, injected stuck, holdout n, holdout stuck
    base = rng.uniform(0.3, 0.7, groups)
    for _ in range(blocks):
        inj_rate = stats[:, 1] / np.maximum(stats[:, 0], 1)
        hold_rate = stats[:, 3] / np.maximum(stats[:, 2], 1)
        # Looks worse when injected: held out 7 in 10; otherwise 2 in 10 (the shipped policy's shape).
        h = np.where(inj_rate > hold_rate, 0.7, 0.2)
        g = np.repeat(np.arange(groups), per_block)
        hh = h[g]
        inj = rng.random(len(g)) > hh
        y = (rng.random(len(g)) < base[g]).astype(int)  # no effect: the arm changes nothing
        np.add.at(stats, (g, 0), inj)
        np.add.at(stats, (g, 1), inj * y)
        np.add.at(stats, (g, 2), ~inj)
        np.add.at(stats, (g, 3), ~inj * y)
        rows.append((g, inj, y, hh))
    g, inj, y, hh = (np.concatenate([r[k] for r in rows]) for k in range(4))
    order = np.argsort(g, kind="stable")  # each group's rows in the order they happened
    assert len(set(hh.tolist())) == 2  # the holdout did move
    for direction in ("harm", "help"):
        peak = e_process(g[order], inj[order], y[order], hh[order], groups, direction=direction).peak
        assert np.mean(peak >= 10) <= 0.1 and np.mean(peak >= 20) <= 0.05


def test_e_process_rejects_unknown_direction() -> None:
    with pytest.raises(ValueError):
        e_process(np.array([0]), np.array([True]), np.array([1]), np.array([0.2]), 1, direction="up")
