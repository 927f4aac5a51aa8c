from inventory import Item
from report import render


def test_render():
    items = [Item("pens", 10), Item("pads", 7)]
    assert render(items) == "pens: 10\npads: 7\ntotal: 17"
