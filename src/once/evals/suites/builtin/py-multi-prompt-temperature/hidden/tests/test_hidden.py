from pathlib import Path

import pytest

from temperature import c_to_f, f_to_c

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("c", "f"), [(0, 32), (100, 212), (-40, -40), (37, 98.6), (21.5, 70.7), (-17.5, 0.5)])
def test_c_to_f(c, f):
    assert c_to_f(c) == pytest.approx(f, abs=1e-9)


@pytest.mark.parametrize(("f", "c"), [(32, 0), (212, 100), (-40, -40), (100, 37.78), (0, -17.78), (50, 10)])
def test_f_to_c(f, c):
    assert f_to_c(f) == pytest.approx(c, abs=1e-9)


def test_tests_were_written():
    source = (ROOT / "tests" / "test_temperature.py").read_text(encoding="utf-8")
    assert "c_to_f" in source and "f_to_c" in source
