"""Invoices: lines with an amount in cents and a tax category."""

from dataclasses import dataclass

from tax import tax_cents


@dataclass
class Line:
    description: str
    amount_cents: int
    category: str = "standard"


def subtotal_cents(lines: list[Line]) -> int:
    """Sum of the line amounts, before tax."""
    return sum(line.amount_cents for line in lines)


def total_cents(lines: list[Line]) -> int:
    """Subtotal plus the tax of every line."""
    return subtotal_cents(lines) + sum(tax_cents(line.amount_cents, line.category) for line in lines)
