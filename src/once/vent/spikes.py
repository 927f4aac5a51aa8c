"""Spikes: a day on which a group got statistically more reports than its own baseline.

The test: a one-sided Poisson upper-tail test of the day's count against the group's
trailing mean. The baseline rate is the posterior mean under a Gamma(1, 1) prior,
(sum of the trailing counts + 1) / (days + 1), so a quiet group is not "infinitely" surprised
by its first few reports, and a group needs `min_history` days of history before it can spike.
Pure: counts in, flags out; days are whole UTC days (`int(ts // 86400)`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

TEST_NAME = "Poisson upper-tail test vs the trailing 7-day mean"
DAY = 86_400.0


@dataclass(frozen=True)
class SpikeRule:
    window: int = 7
    """Trailing days that make the baseline."""
    alpha: float = 0.001
    """A day is a spike when P(X >= count | baseline) is below this."""
    min_count: int = 3
    """Fewer reports than this in a day are never a spike, however quiet the baseline."""
    min_history: int = 3
    """Days of history (since the group's first report) needed before a day can be judged."""


@dataclass(frozen=True)
class DayStat:
    day: int
    count: int
    baseline: float
    p_value: float
    spike: bool


def day_of(ts: float) -> int:
    return int(ts // DAY)


def daily_counts(timestamps: Iterable[float], first_day: int, last_day: int) -> list[int]:
    """Reports per day from `first_day` to `last_day` inclusive (days before or after are dropped)."""
    counts = [0] * max(0, last_day - first_day + 1)
    for ts in timestamps:
        day = day_of(ts)
        if first_day <= day <= last_day:
            counts[day - first_day] += 1
    return counts


def poisson_upper_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate), summed in log space for stability."""
    if count <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    below = 0.0
    log_term = -rate  # log P(X = 0)
    for k in range(count):
        if k > 0:
            log_term += math.log(rate) - math.log(k)
        below += math.exp(log_term)
    return max(0.0, min(1.0, 1.0 - below))


def scan(counts: Sequence[int], first_day: int, rule: SpikeRule = SpikeRule(), history_start: int = 0) -> list[DayStat]:
    """Judge every day of `counts` (day `first_day + i`) against its trailing window.

    `history_start` is the index of the group's first report: earlier zeros are not history.
    """
    stats: list[DayStat] = []
    for i, count in enumerate(counts):
        lo = max(history_start, i - rule.window)
        trailing = counts[lo:i]
        baseline = (sum(trailing) + 1.0) / (len(trailing) + 1.0)
        p_value = poisson_upper_tail(count, baseline)
        spike = len(trailing) >= rule.min_history and count >= rule.min_count and p_value < rule.alpha
        stats.append(DayStat(day=first_day + i, count=count, baseline=baseline, p_value=p_value, spike=spike))
    return stats


def group_days(timestamps: Sequence[float], today: int, days: int,
               rule: SpikeRule = SpikeRule()) -> list[DayStat]:
    """The last `days` days up to `today` for one group's report times, each judged for a spike.

    The trailing window reaches back before the shown days, so the first shown day has a baseline.
    """
    if not timestamps:
        return []
    first_report = day_of(min(timestamps))
    start = min(first_report, today - days + 1 - rule.window)
    counts = daily_counts(timestamps, start, today)
    stats = scan(counts, start, rule, history_start=first_report - start)
    return stats[-days:]
