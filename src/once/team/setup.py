"""The team settings of this install, resolved: the URL, the member name, the opted-in remotes."""

from __future__ import annotations

import sqlite3
from typing import Any

from once.errors import UsageError
from once.team import local
from once.team.sync import Team


def team_from(settings: Any, conn: sqlite3.Connection, *, join: bool = True) -> Team | None:
    """The team this install belongs to (joining it on first use), or None when none is set."""
    table = settings.learn
    if not table.team_url:
        return None
    name = table.team_member or local.member(conn) or local.default_member()
    if join and local.member(conn) != name:
        local.join(conn, name)
    return Team(table.team_url, name, tuple(table.team_repos))


def require_team(settings: Any, conn: sqlite3.Connection) -> Team:
    team = team_from(settings, conn)
    if team is None:
        raise UsageError("no team is set",
                         hint="agent config set learn.team_url postgresql://USER@HOST/DB (or set ONCE_TEAM_URL).")
    return team
