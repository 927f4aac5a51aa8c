"""Stock levels of a small shop."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    quantity: int


def total_units(items: list[Item]) -> int:
    """Number of units in stock across all items."""
    return sum(item.quantity for item in items)
