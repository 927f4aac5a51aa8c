import inspect

import pytest

import billing


@pytest.mark.parametrize(
    ("price", "percent", "expected"),
    [
        (1000, 10, 900),
        (1000, 0, 1000),
        (1000, 100, 0),
        (999, 50, 500),   # 499.5 -> 500 (half up)
        (1001, 50, 501),  # 500.5 -> 501 (half up; round() would give 500)
        (333, 10, 300),   # 299.7 -> 300
        (101, 25, 76),    # 75.75 -> 76
        (199, 33, 133),   # 133.33 -> 133
    ],
)
def test_apply_discount(price, percent, expected):
    result = billing.apply_discount(price, percent)
    assert result == expected
    assert type(result) is int, "money must be an int number of cents"


def test_signature_uses_cents_names():
    params = list(inspect.signature(billing.apply_discount).parameters)
    assert params[0] == "price_cents"


def test_existing_functions_kept():
    assert billing.line_total_cents(1, 2) == 2
    assert billing.format_cents(100) == "$1.00"
