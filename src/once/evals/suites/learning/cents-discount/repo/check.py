"""The project's check."""
from shop.prices import price

assert price("apple") == 120
try:
    from shop.prices import discount
except ImportError:
    raise SystemExit("check: shop.prices has no discount yet")
for args, expected in (((1000, 15), 850), ((999, 10), 899), ((349, 50), 174)):
    got = discount(*args)
    assert isinstance(got, int), f"discount{args} returned {got!r}, a {type(got).__name__}"
    assert got == expected, f"discount{args} returned {got!r}, expected {expected}"
print("check: ok")
