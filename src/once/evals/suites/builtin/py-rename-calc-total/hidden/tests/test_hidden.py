from pathlib import Path

import cart
import pricing
import receipt

ROOT = Path(__file__).resolve().parents[1]


def test_new_name_works():
    assert pricing.compute_total([1, 2, 3]) == 6
    assert pricing.compute_total([100], 0.1) == 110.0


def test_old_name_is_gone():
    assert not hasattr(pricing, "calc_total")
    assert not hasattr(cart, "calc_total")


def test_callers_still_work():
    c = cart.Cart()
    c.add("bread", 2.0)
    assert c.total(0.5) == 3.0
    assert receipt.receipt([("a", 1.0), ("b", 2.5)]).endswith("TOTAL: 3.50")


def test_no_reference_to_old_name_left():
    for path in ROOT.rglob("*.py"):
        if path.name == "test_hidden.py" or any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue
        assert "calc_total" not in path.read_text(encoding="utf-8"), path
