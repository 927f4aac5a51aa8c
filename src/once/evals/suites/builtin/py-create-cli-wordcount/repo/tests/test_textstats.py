from textstats import count_chars, count_lines, count_words


def test_counts():
    text = "one two\nthree\n"
    assert count_lines(text) == 2
    assert count_words(text) == 3
    assert count_chars(text) == 14
