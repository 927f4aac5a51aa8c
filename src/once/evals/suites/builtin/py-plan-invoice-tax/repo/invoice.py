"""Invoices: lines with an amount in cents and a tax category."""

from dataclasses import dataclass


@dataclass
class Line:
    description: str
    amount_cents: int
    category: str = "standard"


def subtotal_cents(lines: list[Line]) -> int:
    """Sum of the line amounts, before tax."""
    return sum(line.amount_cents for line in lines)
