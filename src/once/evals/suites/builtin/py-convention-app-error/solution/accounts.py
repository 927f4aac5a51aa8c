"""Operations on account balances (integer cents)."""

from errors import AppError


def deposit(balance: int, amount: int) -> int:
    """Return the balance after depositing `amount`."""
    if amount <= 0:
        raise AppError("deposit must be positive")
    return balance + amount


def withdraw(balance: int, amount: int) -> int:
    """Return the balance after withdrawing `amount`."""
    if amount <= 0:
        raise AppError("withdrawal must be positive")
    if amount > balance:
        raise AppError("insufficient funds")
    return balance - amount
