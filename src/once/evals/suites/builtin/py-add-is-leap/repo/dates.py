"""Small calendar helpers."""

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def is_weekend(day: str) -> bool:
    """Return True for 'sat' and 'sun' (any case)."""
    return day.lower() in ("sat", "sun")


def next_day(day: str) -> str:
    """The weekday after `day`, wrapping from 'sun' to 'mon'."""
    index = WEEKDAYS.index(day.lower())
    return WEEKDAYS[(index + 1) % len(WEEKDAYS)]
