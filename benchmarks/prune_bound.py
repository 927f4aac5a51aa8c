"""The most any valid pruning could find: an upper bound on the harmful entries pruned.

e-BH prunes entry j only when its e-value reaches K / (alpha R): K entries in the bank, R of
them pruned together. Under "j has no effect" an e-value (or an e-process looked at any number
of times) reaches c with probability at most 1/c, so "j's evidence reached c by the end" is a
test at level 1/c. By the Neyman-Pearson lemma no test at that level has more power than the
likelihood-ratio test of an oracle that knows every session's chance of getting stuck with and
without j, and sees whether the session really got stuck (not the detectors' reading of it).
That oracle's power at the bar of the most favourable R (every harmful entry pruned together),
summed over the harmful entries, bounds the expected number that e-BH at `alpha` can prune,
whatever e-process feeds it.

`learning_sim.py` reports it for three cases of each harmful entry:
- as exposed: the sessions in which the run's retrieval injected it (a held-out session tells
  the oracle nothing: it knows the chance without the entry);
- as exposed and read: the same sessions, the oracle seeing only how the pipeline read each
  session (failure or success), with the rates at which it read stuck and unstuck sessions as
  failures in this run;
- every session of its type after it was written, with it injected: no retrieval or holdout
  policy can give it more.
A real test knows neither chance: it must estimate the chance without the entry from the
sessions that held it out, which costs it about half its evidence at equal arms.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

DRAWS = 20_000


@dataclass(frozen=True)
class Reading:
    """How often the pipeline reads a session as a failure, when it was stuck and when it was not."""

    failure_if_stuck: float
    failure_if_not: float

    @classmethod
    def from_counts(cls, counts: Counter[tuple[bool, int]]) -> "Reading":
        """`counts`: (stuck, outcome read: 1 success, 0 failure) -> sessions."""
        def failures(stuck: bool) -> float:
            total = counts[(stuck, 0)] + counts[(stuck, 1)]
            return counts[(stuck, 0)] / total if total else float(stuck)
        return cls(failures(True), failures(False))

    def read(self, chance: float) -> float:
        """The chance of a session read as a failure, from its chance of getting stuck."""
        return self.failure_if_stuck * chance + self.failure_if_not * (1 - chance)


@dataclass(frozen=True)
class Bound:
    bar: float
    """The e-value e-BH asks of each entry when all harmful ones are pruned together."""
    expected: dict[str, float]
    """Case (as_exposed, as_exposed_read, every_session) -> expected harmful entries pruned, at most."""
    harmful: int
    reading: Reading

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"bar": round(self.bar, 1), "harmful": self.harmful,
                                  "failure_read_if_stuck": round(self.reading.failure_if_stuck, 3),
                                  "failure_read_if_not": round(self.reading.failure_if_not, 3)}
        for case, value in self.expected.items():
            out[f"expected_pruned_{case}"] = round(value, 3)
            out[f"recall_{case}"] = round(value / self.harmful, 3) if self.harmful else None
        return out


def oracle_power(pairs: list[tuple[float, float]], level: float, rng: np.random.Generator,
                 draws: int = DRAWS) -> float:
    """Power of the most powerful level-`level` test of "stuck ~ Bernoulli(c0) in every session"
    against "Bernoulli(c1)", one (c0, c1) per session: the likelihood-ratio test, randomized at
    its threshold, its null distribution drawn `draws` times."""
    counted = Counter((round(c0, 12), round(c1, 12)) for c0, c1 in pairs if c0 != c1)
    if not counted or level <= 0:
        return 0.0
    c0 = np.array([p[0] for p in counted])
    c1 = np.array([p[1] for p in counted])
    n = np.array(list(counted.values()))
    up, down = np.log(c1 / c0), np.log((1 - c1) / (1 - c0))  # log ratio of a stuck / not stuck session

    def log_ratio(chance: np.ndarray) -> np.ndarray:
        stuck = rng.binomial(n, chance, size=(draws, len(n)))
        return np.round(stuck @ up + (n - stuck) @ down, 9)

    null, alternative = log_ratio(c0), log_ratio(c1)
    threshold = np.quantile(null, 1 - level, method="higher")
    above, at = np.mean(null > threshold), np.mean(null == threshold)
    tie = min(1.0, max(0.0, (level - above) / at)) if at > 0 else 0.0
    return float(min(1.0, np.mean(alternative > threshold) + tie * np.mean(alternative == threshold)))


def bound(as_exposed: dict[str, list[tuple[float, float]]], every_session: dict[str, list[tuple[float, float]]],
          bank_size: int, alpha: float, seed: int, reading: Reading) -> Bound:
    """`as_exposed` / `every_session`: per harmful entry, its sessions' (chance without, with)."""
    harmful = len(as_exposed)
    if harmful == 0:
        return Bound(float("inf"), {}, 0, reading)
    bar = bank_size / (alpha * harmful)
    rng = np.random.default_rng(seed)
    read = {e: [(reading.read(c0), reading.read(c1)) for c0, c1 in pairs] for e, pairs in as_exposed.items()}
    expected = {case: sum(oracle_power(pairs.get(e, []), 1 / bar, rng) for e in sorted(as_exposed))
                for case, pairs in (("as_exposed", as_exposed), ("as_exposed_read", read),
                                    ("every_session", every_session))}
    return Bound(bar, expected, harmful, reading)
