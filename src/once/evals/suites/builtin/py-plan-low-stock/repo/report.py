"""Plain-text stock report."""

from inventory import Item, total_units


def render(items: list[Item]) -> str:
    """One 'name: quantity' line per item, then the total."""
    lines = [f"{item.name}: {item.quantity}" for item in items]
    lines.append(f"total: {total_units(items)}")
    return "\n".join(lines)
