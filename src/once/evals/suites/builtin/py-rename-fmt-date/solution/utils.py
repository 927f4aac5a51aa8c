"""Shared helpers."""


def format_iso_date(year, month, day):
    """Format a date as YYYY-MM-DD."""
    return f"{year:04d}-{month:02d}-{day:02d}"


def plural(count, word):
    """'1 event', '2 events'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
