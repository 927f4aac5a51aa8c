import pytest

from invoice import Line, subtotal_cents, total_cents
from tax import tax_cents


def test_tax_cents():
    assert tax_cents(1000, "standard") == 200
    assert tax_cents(1000, "reduced") == 50
    assert tax_cents(1000, "zero") == 0
    assert tax_cents(999, "standard") == 199  # 199.8 rounds down
    assert tax_cents(19, "reduced") == 0  # 0.95 rounds down


def test_unknown_category():
    with pytest.raises(KeyError):
        tax_cents(100, "luxury")


def test_total_cents_taxes_each_line():
    lines = [Line("book", 1000, "reduced"), Line("pen", 250), Line("bread", 300, "zero")]
    assert total_cents(lines) == 1550 + 50 + 50
    assert total_cents([Line("a", 9), Line("b", 9)]) == 18 + 1 + 1  # per line: 1.8 -> 1 each


def test_empty_invoice_and_subtotal_kept():
    assert total_cents([]) == 0
    assert subtotal_cents([Line("x", 5)]) == 5
