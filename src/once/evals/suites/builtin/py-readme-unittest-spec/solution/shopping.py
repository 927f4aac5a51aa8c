"""A shopping list: item names with quantities."""


class ShoppingList:
    def __init__(self) -> None:
        self._items: dict[str, int] = {}

    def add(self, name: str, qty: int = 1) -> None:
        """Add `qty` of `name` (adding to any quantity already listed)."""
        self._items[name] = self._items.get(name, 0) + qty

    def count(self, name: str) -> int:
        """Quantity of `name`, 0 when it is not listed."""
        return self._items.get(name, 0)

    def names(self) -> list[str]:
        """Listed item names, sorted."""
        return sorted(self._items)

    def remove(self, name: str, qty: int = 1) -> None:
        """Lower the quantity of `name` by `qty`, dropping it when none is left."""
        if name not in self._items:
            raise KeyError(name)
        left = self._items[name] - qty
        if left <= 0:
            del self._items[name]
        else:
            self._items[name] = left
