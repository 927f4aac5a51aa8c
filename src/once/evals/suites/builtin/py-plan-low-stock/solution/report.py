"""Plain-text stock report."""

from inventory import Item, low_stock, total_units


def render(items: list[Item], threshold: int = 5) -> str:
    """One 'name: quantity' line per item, then the total, then any low-stock warning."""
    lines = [f"{item.name}: {item.quantity}" for item in items]
    lines.append(f"total: {total_units(items)}")
    low = low_stock(items, threshold)
    if low:
        lines.append("low stock: " + ", ".join(item.name for item in low))
    return "\n".join(lines)
