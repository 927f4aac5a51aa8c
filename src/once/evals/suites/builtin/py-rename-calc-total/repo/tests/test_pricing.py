from cart import Cart
from pricing import calc_total
from receipt import receipt


def test_calc_total_with_tax():
    assert calc_total([10, 5], 0.2) == 18.0


def test_cart_total():
    cart = Cart()
    cart.add("tea", 3.5)
    cart.add("milk", 1.25)
    assert cart.total() == 4.75


def test_receipt():
    assert receipt([("tea", 3.5)]) == "tea: 3.50\nTOTAL: 3.50"
