"""Text helpers used by the blog generator."""

import re


def normalize_spaces(text: str) -> str:
    """Collapse runs of whitespace into single spaces and strip the ends."""
    return " ".join(text.split())


def truncate(text: str, width: int) -> str:
    """Cut `text` to at most `width` characters."""
    return text[:width]


def slugify(text: str) -> str:
    """Lowercase `text` and join its ASCII letter/digit runs with hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
