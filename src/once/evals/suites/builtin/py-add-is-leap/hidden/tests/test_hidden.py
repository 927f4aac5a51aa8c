from pathlib import Path

import pytest

import dates

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2024, True), (2000, True), (1600, True), (4, True),
     (2023, False), (1900, False), (2100, False), (2019, False), (1, False)],
)
def test_is_leap(year, expected):
    assert dates.is_leap(year) is expected


def test_existing_functions_kept():
    assert dates.is_weekend("SUN")
    assert dates.next_day("mon") == "tue"


def test_a_test_for_is_leap_was_added():
    source = (ROOT / "tests" / "test_dates.py").read_text(encoding="utf-8")
    assert "def test_is_leap" in source
    assert "is_leap(" in source
