from dates import is_weekend, next_day


def test_is_weekend():
    assert is_weekend("Sat")
    assert is_weekend("sun")
    assert not is_weekend("mon")


def test_next_day_wraps():
    assert next_day("fri") == "sat"
    assert next_day("sun") == "mon"
