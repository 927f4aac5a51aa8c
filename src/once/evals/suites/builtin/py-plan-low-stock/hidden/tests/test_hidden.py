from inventory import Item, low_stock, total_units
from report import render


def test_low_stock_default_threshold():
    items = [Item("a", 4), Item("b", 5), Item("c", 0), Item("d", 9)]
    assert [item.name for item in low_stock(items)] == ["a", "c"]


def test_low_stock_custom_threshold():
    items = [Item("a", 4), Item("b", 5)]
    assert low_stock(items, 10) == items
    assert low_stock(items, 4) == []
    assert low_stock([], 3) == []


def test_render_with_low_items():
    items = [Item("pens", 10), Item("pads", 2), Item("ink", 1)]
    assert render(items) == "pens: 10\npads: 2\nink: 1\ntotal: 13\nlow stock: pads, ink"


def test_render_threshold_argument():
    items = [Item("pens", 10), Item("pads", 7)]
    assert render(items, threshold=8) == "pens: 10\npads: 7\ntotal: 17\nlow stock: pads"
    assert render(items, 3) == "pens: 10\npads: 7\ntotal: 17"


def test_render_unchanged_when_nothing_is_low():
    assert render([Item("pens", 10)]) == "pens: 10\ntotal: 10"
    assert total_units([Item("x", 1), Item("y", 2)]) == 3
