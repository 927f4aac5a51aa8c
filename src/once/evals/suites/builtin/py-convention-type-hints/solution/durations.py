"""Durations: formatting and parsing of lengths of time."""

import re

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _pad(number: int) -> str:
    return f"{number:02d}"


def format_seconds(seconds: int) -> str:
    """Format a number of seconds as H:MM:SS."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{_pad(minutes)}:{_pad(secs)}"


def parse_duration(text: str) -> int:
    """Convert a duration such as "1h30m" or "90s" into a number of seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not text.strip():
        raise ValueError(f"not a duration: {text!r}")
    hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
