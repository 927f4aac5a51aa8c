"""Pass rates with intervals, and paired differences between arms (pure; no numpy).

A pass rate gets a Wilson score interval (sound at 0 of n and n of n, where the normal
interval collapses). Two arms are compared task by task: each task's difference of pass
rates, averaged, with a percentile bootstrap over tasks (seeded, so a report is repeatable).
Tasks differ far more than repeats of one task, so resampling tasks is the honest unit.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from typing import Mapping

Z95 = 1.959963984540054
BOOTSTRAP_SAMPLES = 4000


@dataclass(frozen=True)
class Rate:
    passed: int
    total: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {"passed": self.passed, "total": self.total, "rate": round(self.value, 4),
                "low": round(self.low, 4), "high": round(self.high, 4)}


def wilson(passed: int, total: int, z: float = Z95) -> Rate:
    if total == 0:
        return Rate(0, 0, 0.0, 1.0)
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == total else min(1.0, centre + half)
    return Rate(passed, total, low, high)


@dataclass(frozen=True)
class Paired:
    a: str
    b: str
    tasks: int
    difference: float
    """Mean over tasks of (pass rate in a - pass rate in b)."""
    low: float
    high: float
    a_better: int
    b_better: int

    def to_json(self) -> dict[str, float | int | str]:
        return {"a": self.a, "b": self.b, "tasks": self.tasks, "difference": round(self.difference, 4),
                "low": round(self.low, 4), "high": round(self.high, 4), "a_better": self.a_better,
                "b_better": self.b_better}


def paired_difference(a: str, b: str, per_task_a: Mapping[str, float], per_task_b: Mapping[str, float],
                      *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> Paired:
    """Arm a against arm b on the tasks both ran; a 95% percentile bootstrap over tasks."""
    tasks = sorted(set(per_task_a) & set(per_task_b))
    diffs = [per_task_a[t] - per_task_b[t] for t in tasks]
    if not diffs:
        return Paired(a, b, 0, 0.0, -1.0, 1.0, 0, 0)
    mean = statistics.fmean(diffs)
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(diffs, k=len(diffs))) for _ in range(samples))
    low, high = means[int(0.025 * samples)], means[min(samples - 1, int(0.975 * samples))]
    return Paired(a, b, len(diffs), mean, low, high, sum(d > 0 for d in diffs), sum(d < 0 for d in diffs))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
