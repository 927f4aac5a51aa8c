from invoice import Line, subtotal_cents


def test_subtotal():
    assert subtotal_cents([Line("book", 1000, "reduced"), Line("pen", 250)]) == 1250
