"""Tax rates in percent, by product category."""

RATES = {"standard": 20, "reduced": 5, "zero": 0}


def tax_cents(amount_cents: int, category: str) -> int:
    """Tax on `amount_cents` in `category`, rounded down to a whole cent."""
    return amount_cents * RATES[category] // 100
