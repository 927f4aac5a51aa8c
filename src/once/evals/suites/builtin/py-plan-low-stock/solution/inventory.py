"""Stock levels of a small shop."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    quantity: int


def total_units(items: list[Item]) -> int:
    """Number of units in stock across all items."""
    return sum(item.quantity for item in items)


def low_stock(items: list[Item], threshold: int = 5) -> list[Item]:
    """The items whose quantity is below `threshold`, in their original order."""
    return [item for item in items if item.quantity < threshold]
