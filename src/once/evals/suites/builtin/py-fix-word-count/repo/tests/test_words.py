from words import count_words, longest_word


def test_count_words_simple():
    assert count_words("the quick brown fox") == 4


def test_count_words_irregular_whitespace():
    assert count_words("hello  world") == 2
    assert count_words("one\ntwo\tthree") == 3


def test_longest_word():
    assert longest_word("a bb ccc dd") == "ccc"
