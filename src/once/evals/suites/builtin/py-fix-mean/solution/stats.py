"""Descriptive statistics for small lists of numbers."""


def mean(values):
    """Arithmetic mean of a non-empty list of numbers."""
    total = 0
    for i in range(len(values)):
        total += values[i]
    return total / len(values)


def median(values):
    """Middle value of a non-empty list (mean of the two middle values for even lengths)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def value_range(values):
    """Largest value minus smallest value."""
    return max(values) - min(values)
