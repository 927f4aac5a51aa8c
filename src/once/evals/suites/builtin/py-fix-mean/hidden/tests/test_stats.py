from stats import mean, median, value_range


def test_mean():
    assert mean([2, 4, 6]) == 4


def test_median_odd_and_even():
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5


def test_value_range():
    assert value_range([5, -1, 3]) == 6
