"""Price arithmetic."""


def compute_total(prices, tax_rate=0.0):
    """Sum of `prices` plus tax at `tax_rate` (0.2 means 20%), rounded to 2 decimals."""
    subtotal = sum(prices)
    return round(subtotal * (1 + tax_rate), 2)
