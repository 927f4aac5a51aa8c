from pathlib import Path

import pytest

import text

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "hello-world"),
        ("  snake_case  name ", "snake-case-name"),
        ("Already-slugged", "already-slugged"),
        ("C++ & Python 3", "c-python-3"),
        ("--x--", "x"),
        ("Version 2.0.1", "version-2-0-1"),
        ("", ""),
        ("!!!", ""),
    ],
)
def test_slugify(raw, expected):
    assert text.slugify(raw) == expected


def test_existing_functions_kept():
    assert text.normalize_spaces(" a  b ") == "a b"
    assert text.truncate("abcdef", 2) == "ab"


def test_a_test_for_slugify_was_added():
    assert "slugify(" in (ROOT / "tests" / "test_text.py").read_text(encoding="utf-8")
