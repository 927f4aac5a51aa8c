"""Invoice arithmetic. All amounts are integer cents."""


def line_total_cents(unit_price_cents: int, quantity: int) -> int:
    """Price of `quantity` units."""
    return unit_price_cents * quantity


def format_cents(amount_cents: int) -> str:
    """1234 -> '$12.34'."""
    return f"${amount_cents // 100}.{amount_cents % 100:02d}"


def apply_discount(price_cents: int, percent: int) -> int:
    """Price after taking `percent` percent off, rounded to the nearest cent (halves up)."""
    return (price_cents * (100 - percent) + 50) // 100
