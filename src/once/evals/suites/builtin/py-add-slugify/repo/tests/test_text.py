from text import normalize_spaces, truncate


def test_normalize_spaces():
    assert normalize_spaces("  a \t b\n c ") == "a b c"


def test_truncate():
    assert truncate("abcdef", 3) == "abc"
    assert truncate("ab", 3) == "ab"
