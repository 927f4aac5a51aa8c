import strings_util as s


def test_reverse_and_palindrome():
    assert s.reverse("abc") == "cba"
    assert s.is_palindrome("Never odd or even")


def test_case_conversions():
    assert s.snake_to_camel("parse_http_header") == "parseHttpHeader"
    assert s.camel_to_snake("parseHttpHeader") == "parse_http_header"
