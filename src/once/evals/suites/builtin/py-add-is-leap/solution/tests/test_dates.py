from dates import is_leap, is_weekend, next_day


def test_is_weekend():
    assert is_weekend("Sat")
    assert is_weekend("sun")
    assert not is_weekend("mon")


def test_next_day_wraps():
    assert next_day("fri") == "sat"
    assert next_day("sun") == "mon"


def test_is_leap():
    assert is_leap(2024)
    assert is_leap(2000)
    assert not is_leap(2023)
    assert not is_leap(1900)
