import unittest

from shopping import ShoppingList


class ShoppingListSpec(unittest.TestCase):
    def test_add_accumulates(self):
        items = ShoppingList()
        items.add("eggs", 6)
        items.add("eggs")
        self.assertEqual(items.count("eggs"), 7)

    def test_names_sorted(self):
        items = ShoppingList()
        items.add("milk")
        items.add("bread")
        self.assertEqual(items.names(), ["bread", "milk"])

    def test_remove(self):
        items = ShoppingList()
        items.add("eggs", 6)
        items.remove("eggs", 2)
        self.assertEqual(items.count("eggs"), 4)
        items.remove("eggs", 4)
        self.assertEqual(items.names(), [])
        with self.assertRaises(KeyError):
            items.remove("eggs")
