"""Sensor readings."""


def average(readings: list[float]) -> float:
    """Mean of the readings, rounded to 2 decimal places."""
    return round(sum(readings) / len(readings), 2)
