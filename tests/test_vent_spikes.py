"""Spike detection: a known spike is flagged, a flat or merely noisy series is not."""

from __future__ import annotations

import math

from once.vent.spikes import DAY, SpikeRule, daily_counts, group_days, poisson_upper_tail, scan


def test_poisson_upper_tail_matches_the_closed_form():
    rate = 2.5
    exact = 1 - sum(math.exp(-rate) * rate**k / math.factorial(k) for k in range(4))
    assert abs(poisson_upper_tail(4, rate) - exact) < 1e-12
    assert poisson_upper_tail(0, rate) == 1.0 and poisson_upper_tail(1, 0.0) == 0.0


def test_known_spike_is_flagged_on_its_day_only():
    counts = [2, 1, 2, 3, 1, 2, 2, 1, 2, 14, 2, 1]
    stats = scan(counts, first_day=100)
    assert [s.day for s in stats if s.spike] == [109]
    spike = stats[9]
    assert spike.count == 14 and spike.p_value < 1e-4 and 1.5 < spike.baseline < 2.2


def test_flat_and_noisy_series_raise_no_alarm():
    assert not any(s.spike for s in scan([5] * 30, first_day=0))
    noisy = [3, 5, 4, 6, 2, 5, 4, 7, 3, 5, 6, 4, 2, 5, 8, 4, 3, 6, 5, 4]
    assert not any(s.spike for s in scan(noisy, first_day=0))


def test_a_new_group_needs_history_and_a_minimum_count():
    # Day one of a group: no history, so even 20 reports are not a "rise against its baseline".
    assert not any(s.spike for s in scan([20], first_day=0))
    # A quiet week, then 2 reports: under min_count.
    assert not any(s.spike for s in scan([0] * 7 + [2], first_day=0))
    # A quiet week, then 6: a spike.
    assert scan([0] * 7 + [6], first_day=0)[-1].spike
    assert not scan([0] * 7 + [6], first_day=0, rule=SpikeRule(alpha=1e-9))[-1].spike


def test_group_days_counts_timestamps_by_utc_day():
    today = 20_000
    times = [(today - 10) * DAY + 5] + [(today - d) * DAY + 60 for d in range(1, 9)] + [today * DAY + s for s in range(7)]
    days = group_days(times, today, days=3)
    assert [d.day for d in days] == [today - 2, today - 1, today]
    assert [d.count for d in days] == [1, 1, 7] and days[-1].spike and not days[0].spike
    assert daily_counts([0.0, DAY - 1, DAY], 0, 1) == [2, 1]
    assert group_days([], today, days=3) == []
