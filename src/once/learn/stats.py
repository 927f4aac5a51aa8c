"""Statistics of the A/B evaluation: Beta-Binomial posteriors and an always-valid e-process.

Pure and vectorised (numpy): no IO, clock or randomness. Every function works on arrays
with one row per entry so `agent learn` over a large bank stays fast.

- Posteriors: Beta(prior + successes, prior + failures) per entry and arm, with the priors
  fitted to the whole population (empirical Bayes), so an entry with a handful of
  exposures is pulled toward the population rate instead of claiming a 100% lift. Both
  arms share one prior (fitted to every entry's and arm's rate): the prior says "no
  effect", so the lift is shrunk toward none.
- P(inject beats holdout) = P(p_injected > p_holdout) under the two posteriors.
- The e-process tests "injecting makes no difference" with the randomisation itself:
  under that null, the arm an exposure drew is independent of its outcome, so given the
  outcome the arm is still Bernoulli(1 - holdout). A predictable plug-in likelihood ratio
  of arm given outcome is then a test martingale (valid for any drift of the base rate,
  e.g. a model change), and by Ville's inequality P(sup E >= 1/alpha) <= alpha: checking
  after every session does not inflate false prunes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_GRID = 256  # points of the per-row grid for P(X > Y)
_CHUNK = 4096  # rows per chunk of the grid computation (bounds memory)
_SPAN = 10.0  # the grid covers both posteriors' means +- this many standard deviations


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior; alpha + beta is its strength in pseudo-exposures."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


def fit_prior(
    successes: np.ndarray, trials: np.ndarray, *, min_strength: float = 2.0, max_strength: float = 50.0
) -> BetaPrior:
    """Empirical-Bayes Beta prior from per-unit (successes, trials) by the method of moments.

    The spread of the observed rates minus the binomial noise expected at those sizes
    estimates the true between-entry variance; little true spread means strong shrinkage
    (clipped to [min_strength, max_strength] so neither extreme takes over).
    """
    s = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    keep = n > 0
    s, n = s[keep], n[keep]
    total = float(n.sum())
    if total <= 0:
        return BetaPrior(1.0, 1.0)
    mean = float(np.clip(s.sum() / total, 0.01, 0.99))
    if len(n) < 2:
        strength = min_strength
    else:
        rates = s / n
        weights = n / total
        observed_var = float(np.sum(weights * (rates - mean) ** 2))
        noise = mean * (1 - mean) * float(np.sum(weights / n))
        true_var = observed_var - noise
        strength = max_strength if true_var <= 0 else mean * (1 - mean) / true_var - 1
    strength = float(np.clip(strength, min_strength, max_strength))
    return BetaPrior(mean * strength, (1 - mean) * strength)


def beta_mean_var(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    total = a + b
    return a / total, a * b / (total * total * (total + 1))


def prob_greater(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """P(X > Y) for independent X ~ Beta(a1, b1), Y ~ Beta(a2, b2), row by row.

    Numerical integration of f_X * F_Y on a grid fitted to each row (both posteriors'
    bulk), so narrow posteriors with thousands of exposures stay accurate.
    """
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (a1, b1, a2, b2)))
    out = np.empty(arrays[0].shape[0])
    for start in range(0, len(out), _CHUNK):
        rows = slice(start, start + _CHUNK)
        out[rows] = _prob_greater_chunk(*(v[rows] for v in arrays))
    return out


def _prob_greater_chunk(a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    m1, v1 = beta_mean_var(a1, b1)
    m2, v2 = beta_mean_var(a2, b2)
    s1, s2 = np.sqrt(v1), np.sqrt(v2)
    lo = np.clip(np.minimum(m1 - _SPAN * s1, m2 - _SPAN * s2), 0.0, 1.0)
    hi = np.clip(np.maximum(m1 + _SPAN * s1, m2 + _SPAN * s2), 0.0, 1.0)
    t = (np.arange(_GRID) + 0.5) / _GRID  # midpoints: never exactly 0 or 1
    x = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    x = np.clip(x, 1e-12, 1 - 1e-12)
    logx, log1x = np.log(x), np.log1p(-x)
    px = _normalised((a1[:, None] - 1) * logx + (b1[:, None] - 1) * log1x)
    py = _normalised((a2[:, None] - 1) * logx + (b2[:, None] - 1) * log1x)
    below = np.cumsum(py, axis=1) - 0.5 * py  # P(Y < x_i), half of the own cell
    return np.clip(np.sum(px * below, axis=1), 0.0, 1.0)


def _normalised(logpdf: np.ndarray) -> np.ndarray:
    weights = np.exp(logpdf - logpdf.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def normal_quantile(p: float) -> float:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    low = 0.02425
    if p < low or p > 1 - low:
        q = math.sqrt(-2 * math.log(p if p < low else 1 - p))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        value = num / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        return value if p < low else -value
    q = p - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    return num / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def lift_interval(
    a1: np.ndarray, b1: np.ndarray, a2: np.ndarray, b2: np.ndarray, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and central credible interval of p_injected - p_holdout.

    Normal approximation of the difference of two Betas (exact mean and variance),
    clipped to [-1, 1]; good once each arm has a few exposures or a prior.
    """
    m1, v1 = beta_mean_var(a1, b1)
    m2, v2 = beta_mean_var(a2, b2)
    mean = m1 - m2
    half = normal_quantile(0.5 + level / 2) * np.sqrt(v1 + v2)
    return mean, np.clip(mean - half, -1.0, 1.0), np.clip(mean + half, -1.0, 1.0)


@dataclass(frozen=True)
class EValues:
    """Per group: the e-process now, and its running maximum (what Ville's bound is about)."""

    current: np.ndarray
    peak: np.ndarray


def e_process(
    groups: np.ndarray,
    injected: np.ndarray,
    outcomes: np.ndarray,
    holdout: np.ndarray,
    n_groups: int,
    *,
    direction: str,
    strata: np.ndarray | None = None,
) -> EValues:
    """The arm-given-outcome e-process of each group against "injection has no effect".

    `groups` (ints in [0, n_groups)), `injected` (bool), `outcomes` (0/1) and `holdout`
    (the holdout probability each exposure was drawn with) are one row per exposure, in
    the order their outcomes became known within each group. `direction` "harm" looks for
    injected doing worse, "help" for injected doing better; evidence the other way counts
    for nothing. `strata` (ints, e.g. the model of each row's session) gives each stratum
    of a group its own plug-in estimates: the product is still a test martingale under "no
    effect under any model", and an effect under one model is not averaged away by another.
    """
    if len(groups) == 0:
        return EValues(np.ones(n_groups), np.ones(n_groups))
    g, path = log_e_paths(groups, injected, outcomes, holdout, direction=direction, strata=strata)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)] - 1
    current, peak = np.ones(n_groups), np.ones(n_groups)
    current[g[starts]] = np.exp(path[ends])
    peak[g[starts]] = np.exp(np.maximum(np.maximum.reduceat(path, starts), 0.0))
    return EValues(current, peak)


def log_e_paths(
    groups: np.ndarray,
    injected: np.ndarray,
    outcomes: np.ndarray,
    holdout: np.ndarray,
    *,
    direction: str,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, log e-value after the row), rows sorted by group (stably, so each
    group's rows keep their order): every group's whole path, for `e_process` and benchmarks."""
    if direction not in ("harm", "help"):
        raise ValueError("direction must be 'harm' or 'help'")
    g = np.asarray(groups, dtype=np.int64)
    order = np.argsort(g, kind="stable")
    g = g[order]
    inj = np.asarray(injected, dtype=bool)[order]
    y = np.asarray(outcomes, dtype=float)[order]
    h = np.clip(np.asarray(holdout, dtype=float)[order], 1e-6, 1 - 1e-6)
    cell = g if strata is None else g * (int(np.max(strata)) + 1) + np.asarray(strata, dtype=np.int64)[order]
    s_i, n_i = _before(cell, y * inj), _before(cell, inj.astype(float))
    s_h, n_h = _before(cell, y * ~inj), _before(cell, (~inj).astype(float))
    p_i = (s_i + 0.5) / (n_i + 1.0)  # predictable plug-in estimates (past rows of the cell only)
    p_h = (s_h + 0.5) / (n_h + 1.0)
    p_i = np.minimum(p_i, p_h) if direction == "harm" else np.maximum(p_i, p_h)
    like_i = np.where(y > 0.5, p_i, 1 - p_i)
    like_h = np.where(y > 0.5, p_h, 1 - p_h)
    q = (1 - h) * like_i / ((1 - h) * like_i + h * like_h)  # P(arm = injected | outcome) under the plug-in
    log_factor = np.where(inj, np.log(q) - np.log1p(-h), np.log1p(-q) - np.log(h))
    if len(g) == 0:
        return g, log_factor
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(g)])
    path = np.cumsum(log_factor)
    return g, path - np.repeat(path[starts] - log_factor[starts], sizes)


def _before(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row, the sum of `values` over earlier rows of the same cell (rows keep their order)."""
    order = np.argsort(cells, kind="stable")
    sorted_cells, sorted_values = cells[order], values[order]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_cells)])
    total = np.cumsum(sorted_values) - sorted_values
    total = total - np.repeat(total[starts], sizes)
    out = np.empty_like(total)
    out[order] = total
    return out


def e_bh(e_values: np.ndarray, alpha: float) -> np.ndarray:
    """The e-BH procedure (Wang and Ramdas 2022): which hypotheses to reject so the expected share
    of false rejections stays at most `alpha`, under any dependence between the e-values.
    Rejects the k largest, for the largest k whose k-th largest e-value is >= K / (alpha k)."""
    e = np.asarray(e_values, dtype=float)
    count = len(e)
    if count == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(-e, kind="stable")
    ranks = np.arange(1, count + 1)
    passing = np.flatnonzero(e[order] >= count / (alpha * ranks))
    rejected = np.zeros(count, dtype=bool)
    if len(passing):
        rejected[order[: passing[-1] + 1]] = True
    return rejected
