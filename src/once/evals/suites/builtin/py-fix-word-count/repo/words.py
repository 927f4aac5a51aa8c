"""Word statistics for short texts."""


def count_words(text):
    """Number of words in `text`; words are separated by any amount of whitespace."""
    return len(text.split(" "))


def longest_word(text):
    """The longest word in `text` (the first one on ties), or "" for an empty text."""
    longest = ""
    for word in text.split():
        if len(word) > len(longest):
            longest = word
    return longest
