import unittest
from pathlib import Path

from shopping import ShoppingList

ROOT = Path(__file__).resolve().parents[1]


class HiddenRemoveSpec(unittest.TestCase):
    def test_remove_lowers_quantity(self):
        items = ShoppingList()
        items.add("apples", 5)
        items.remove("apples", 3)
        self.assertEqual(items.count("apples"), 2)
        items.remove("apples")
        self.assertEqual(items.count("apples"), 1)

    def test_remove_to_zero_or_below_drops_item(self):
        items = ShoppingList()
        items.add("milk", 2)
        items.add("tea")
        items.remove("milk", 5)
        self.assertEqual(items.count("milk"), 0)
        self.assertEqual(items.names(), ["tea"])
        items.remove("tea")
        self.assertEqual(items.names(), [])

    def test_remove_unknown_raises_key_error(self):
        with self.assertRaises(KeyError):
            ShoppingList().remove("nothing")

    def test_tests_for_remove_were_added(self):
        visible = [p for p in (ROOT / "spec").glob("*_spec.py") if p.name != "hidden_spec.py"]
        self.assertTrue(any(".remove(" in p.read_text(encoding="utf-8") for p in visible))
