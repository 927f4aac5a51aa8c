import pytest

from units import convert, to_meters


@pytest.mark.parametrize(
    ("value", "unit", "meters"),
    [(1500, "mm", 1.5), (250, "cm", 2.5), (3, "m", 3), (1.2, "km", 1200), (10, "in", 0.254), (10, "ft", 3.048)],
)
def test_to_meters(value, unit, meters):
    assert to_meters(value, unit) == pytest.approx(meters)


def test_unknown_unit():
    with pytest.raises(ValueError, match="unknown unit: yd"):
        to_meters(1, "yd")


def test_convert():
    assert convert(1, "km", "m") == pytest.approx(1000)
    assert convert(12, "in", "ft") == pytest.approx(1)
    assert convert(5, "cm", "mm") == pytest.approx(50)
    assert convert(2, "m", "m") == pytest.approx(2)


def test_convert_unknown_unit():
    with pytest.raises(ValueError):
        convert(1, "furlong", "m")
