"""Connecting to the team's PostgreSQL (psycopg 3, imported here only)."""

from __future__ import annotations

import re
from typing import Any

from once.errors import OnceError

_PASSWORD = re.compile(r"(://[^/:@\s]+):[^/@\s]+@")


# A member whose connection died mid-push leaves a server process holding the push lock until the
# server notices: idle in a transaction for 30 s, it is ended. A push waits at most 20 s for the
# lock (then retries), and no statement runs past 5 minutes. On this side, a network that dies
# silently is noticed by TCP keepalives (idle) or after 60 s of unacknowledged data.
IDLE_IN_TRANSACTION_MS, LOCK_WAIT_MS, STATEMENT_MS = 30_000, 20_000, 300_000
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
               "tcp_user_timeout": 60_000}


def _session_limits() -> str:
    return (f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS} -c lock_timeout={LOCK_WAIT_MS}"
            f" -c statement_timeout={STATEMENT_MS}")


class TeamUnavailable(OnceError):
    """The team server cannot be reached (or psycopg is missing): work goes on locally."""

    exit_code = 4


def shown_url(url: str) -> str:
    """The URL without its password, for messages and `agent team status`."""
    return _PASSWORD.sub(r"\1:***@", url)


def connect(url: str, timeout: float = 5.0) -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise TeamUnavailable("psycopg is not installed", hint="pip install 'psycopg[binary]'") from exc
    try:
        return psycopg.connect(url, connect_timeout=max(1, round(timeout)), autocommit=True,
                               application_name="once", options=_session_limits(), **_KEEPALIVES)
    except psycopg.Error as exc:
        raise TeamUnavailable(f"the team server {shown_url(url)} cannot be reached: "
                              f"{shown_url(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}",
                              hint="Work goes on locally; agent team sync catches up later.") from exc


def is_connection_error(exc: BaseException) -> bool:
    """A lost connection (server gone, network cut) as opposed to a bug in what was sent."""
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
