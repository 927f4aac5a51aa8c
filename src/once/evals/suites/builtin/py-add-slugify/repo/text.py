"""Text helpers used by the blog generator."""


def normalize_spaces(text: str) -> str:
    """Collapse runs of whitespace into single spaces and strip the ends."""
    return " ".join(text.split())


def truncate(text: str, width: int) -> str:
    """Cut `text` to at most `width` characters."""
    return text[:width]
