"""Plain-text receipts."""

import pricing


def receipt(items):
    """One line per (name, price) item, then a TOTAL line."""
    lines = [f"{name}: {price:.2f}" for name, price in items]
    total = pricing.compute_total([price for _, price in items])
    lines.append(f"TOTAL: {total:.2f}")
    return "\n".join(lines)
