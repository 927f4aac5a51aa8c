"""Riding out an overloaded or rate-limiting provider: how long to wait, when to give up, what to say.

Pure: the drain (and the app) do the waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from once.config import Settings

BASE_DELAY = 5.0
"""First wait when the server names none; it doubles after each overload in a row."""


@dataclass(frozen=True)
class RetryPolicy:
    limit: int = 3
    """Attempts in a row that may meet an overload before the queue pauses (1: pause at the first)."""
    max_delay: float = 120.0
    """Longest single wait, a server's retry-after included: the drain never hangs for long."""
    base_delay: float = BASE_DELAY

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The `[queue]` settings (`queue.overload_retries`, `queue.max_backoff`)."""
        return cls(limit=settings.queue.overload_retries, max_delay=settings.queue.max_backoff)


def retry_delay(failures: int, retry_after: float | None, policy: RetryPolicy) -> float:
    """Seconds before the next attempt after `failures` (>= 1) overloads in a row.

    The server's retry-after when it gave one (it knows its own load), else capped exponential.
    """
    wanted = retry_after if retry_after is not None else policy.base_delay * 2 ** max(failures - 1, 0)
    return min(max(wanted, 0.0), policy.max_delay)


def gives_up(failures: int, policy: RetryPolicy) -> bool:
    return failures >= policy.limit


def overload_reason(failures: int, detail: str) -> str:
    times = "once" if failures == 1 else f"{failures} times in a row"
    return f"the model provider was overloaded or rate limiting ({times}): {detail}"


def auth_reason(detail: str) -> str:
    return f"the model provider refused the credentials: {detail}"
