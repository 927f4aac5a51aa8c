"""The project's check."""
from shop.prices import price

assert price("apple") == 120
try:
    from shop.prices import with_tax
except ImportError:
    raise SystemExit("check: shop.prices has no with_tax yet")
for amount, expected in ((1000, 1080), (999, 1079), (0, 0)):
    got = with_tax(amount)
    assert isinstance(got, int), f"with_tax({amount}) returned {got!r}, a {type(got).__name__}"
    assert got == expected, f"with_tax({amount}) returned {got!r}, expected {expected}"
print("check: ok")
