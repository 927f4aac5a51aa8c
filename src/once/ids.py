"""Short, sortable, unique ids for runs and sessions."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """`prefix` + 9 chars of milliseconds + 5 random chars, e.g. `r-0kx3v9q2a7mzp4`."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}-{_base32(millis, 9)}{_base32(secrets.randbits(25), 5)}"
