"""Counting helpers for plain text."""


def count_lines(text: str) -> int:
    """Number of lines ("a\\nb\\n" has 2)."""
    return len(text.splitlines())


def count_words(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def count_chars(text: str) -> int:
    """Number of characters, newlines included."""
    return len(text)
