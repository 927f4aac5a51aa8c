"""Tax rates in percent, by product category."""

RATES = {"standard": 20, "reduced": 5, "zero": 0}
