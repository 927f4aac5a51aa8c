"""Durations: formatting and parsing of lengths of time."""


def _pad(number: int) -> str:
    return f"{number:02d}"


def format_seconds(seconds: int) -> str:
    """Format a number of seconds as H:MM:SS."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{_pad(minutes)}:{_pad(secs)}"
