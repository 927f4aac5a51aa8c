"""Connecting to the team's PostgreSQL (psycopg 3, imported here only)."""

from __future__ import annotations

import re
from typing import Any

from once.errors import OnceError

_PASSWORD = re.compile(r"(://[^/:@\s]+):[^/@\s]+@")


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
                               application_name="once")
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
