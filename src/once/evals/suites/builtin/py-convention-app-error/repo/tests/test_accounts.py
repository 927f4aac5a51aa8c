import pytest

from accounts import deposit
from errors import AppError


def test_deposit():
    assert deposit(100, 50) == 150


def test_deposit_rejects_non_positive():
    with pytest.raises(AppError):
        deposit(100, 0)
