"""String helpers used across the site generator."""

import re

VOWELS = "aeiou"


def reverse(text):
    """The characters of `text` in reverse order."""
    return text[::-1]


def is_palindrome(text):
    """True when `text` reads the same backwards, ignoring case and non-letters."""
    letters = [c.lower() for c in text if c.isalnum()]
    return letters == letters[::-1]


def count_vowels(text):
    """Number of vowels (a, e, i, o, u; any case) in `text`."""
    return sum(1 for c in text.lower() if c in VOWELS)


def capitalize_words(text):
    """Upper-case the first letter of every space-separated word."""
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))


def truncate(text, width):
    """Cut `text` to at most `width` characters, marking a cut with "..."."""
    if width < 3:
        raise ValueError("width must be at least 3")
    if len(text) <= width:
        return text
    return text[: width - 3] + "..."


def remove_punctuation(text):
    """`text` without any character that is not a letter, digit or whitespace."""
    return re.sub(r"[^\w\s]", "", text)


def snake_to_camel(name):
    """'parse_http_header' -> 'parseHttpHeader'."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def camel_to_snake(name):
    """'parseHttpHeader' -> 'parse_http_header'."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def pad_center(text, width, fill="*"):
    """Center `text` in a field of `width` characters using `fill`."""
    return text.center(width, fill)


def initials(full_name):
    """'ada king lovelace' -> 'AKL'."""
    return "".join(part[0].upper() for part in full_name.split())
