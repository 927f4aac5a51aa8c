import pytest

from words import count_words, longest_word


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("   ", 0), ("\t\n", 0), ("  leading and trailing  ", 3), ("single", 1), ("a\r\nb", 2)],
)
def test_count_words_edge_cases(text, expected):
    assert count_words(text) == expected


def test_longest_word_unchanged():
    assert longest_word("") == ""
    assert longest_word("ab cd") == "ab"
