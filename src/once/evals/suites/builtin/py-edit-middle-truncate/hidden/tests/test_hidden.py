import pytest

import strings_util as s


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [("hello world", 8, "hello..."), ("hello", 5, "hello"), ("hi", 10, "hi"), ("abcdef", 3, "..."),
     ("abcdef", 4, "a..."), ("", 3, "")],
)
def test_truncate(text, width, expected):
    assert s.truncate(text, width) == expected


@pytest.mark.parametrize("width", [2, 0, -1])
def test_truncate_small_width(width):
    with pytest.raises(ValueError):
        s.truncate("anything", width)


def test_every_other_function_is_still_there():
    assert s.reverse("ab") == "ba"
    assert s.is_palindrome("A man, a plan, a canal: Panama")
    assert not s.is_palindrome("abc")
    assert s.count_vowels("Education") == 5
    assert s.capitalize_words("hello big world") == "Hello Big World"
    assert s.remove_punctuation("Hi, there! OK?") == "Hi there OK"
    assert s.snake_to_camel("a_b_c") == "aBC"
    assert s.camel_to_snake("someValueX") == "some_value_x"
    assert s.pad_center("ab", 6) == "**ab**"
    assert s.pad_center("ab", 6, "-") == "--ab--"
    assert s.initials("ada king lovelace") == "AKL"
    assert s.VOWELS == "aeiou"
