"""The wait a server asks for in its response headers (`retry-after-ms`, `retry-after`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNAVAILABLE_STATUSES = frozenset({429, 503, 529})
"""Rate limited (429), unavailable (503), overloaded (529): worth waiting out."""


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds to wait, from `retry-after-ms` (Anthropic) or `retry-after` in seconds; None if absent.

    An HTTP-date `retry-after` is not parsed (None): the caller's own backoff applies then.
    """
    if not headers:
        return None
    found = {str(key).lower(): value for key, value in headers.items()}
    millis = _number(found.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    return _number(found.get("retry-after"))


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(number, 0.0) if number == number else None  # NaN is not a wait
