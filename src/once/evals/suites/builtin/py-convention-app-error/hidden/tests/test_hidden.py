import ast
from pathlib import Path

import pytest

import accounts
from errors import AppError

ROOT = Path(__file__).resolve().parents[1]


def test_withdraw():
    assert accounts.withdraw(100, 30) == 70
    assert accounts.withdraw(100, 100) == 0


@pytest.mark.parametrize(("balance", "amount"), [(100, 0), (100, -5), (10, 11), (0, 1)])
def test_withdraw_errors_are_app_errors(balance, amount):
    with pytest.raises(AppError):
        accounts.withdraw(balance, amount)


def test_only_app_error_is_raised_in_accounts():
    tree = ast.parse((ROOT / "accounts.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = exc.attr if isinstance(exc, ast.Attribute) else getattr(exc, "id", None)
            assert name == "AppError", f"line {node.lineno} raises {name}"


def test_deposit_unchanged():
    assert accounts.deposit(1, 2) == 3
