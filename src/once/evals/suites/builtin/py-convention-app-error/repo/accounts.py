"""Operations on account balances (integer cents)."""

from errors import AppError


def deposit(balance: int, amount: int) -> int:
    """Return the balance after depositing `amount`."""
    if amount <= 0:
        raise AppError("deposit must be positive")
    return balance + amount
