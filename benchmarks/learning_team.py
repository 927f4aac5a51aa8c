"""The team side of `learning_sim.py`: one real PostgreSQL that the simulated users join.

Each user is one install with its own SQLite store, joined to one team with the real
`once.team.local.join`; its `agent learn` is what the CLI does (`once.cli.learn_cmd`): sync
(push + pull), `run_learn`, sync again. Without `--team-url` a private server is started
with the test suite's helper (initdb + pg_ctl on a private port) and removed at the end.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def private_server() -> Iterator[Any]:
    """A throwaway PostgreSQL (tests/pg_server.py); yields it, removes it afterwards."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import pg_server

    reason = pg_server.why_not()
    if reason is not None:
        raise SystemExit(f"cannot start a private PostgreSQL: {reason}; give --team-url")
    server = pg_server.start_server()
    try:
        yield server
    finally:
        pg_server.remove(server)


@contextlib.contextmanager
def database(admin_url: str, name: str) -> Iterator[str]:
    """A fresh database `name` on the server behind `admin_url`, dropped afterwards."""
    from once.team.server import connect

    for statement in (f"CREATE DATABASE {name}", None, f"DROP DATABASE {name} WITH (FORCE)"):
        if statement is None:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
            continue
        admin = connect(admin_url)
        try:
            admin.execute(statement)
        finally:
            admin.close()


def prepare(url: str, salt: str) -> None:
    """The team schema on an empty team, with a seeded salt: the holdout draw hashes it, and the
    same seed must draw the same arms. A team that already holds evidence is refused."""
    from once.team.server import connect
    from once.team.sync import init_server

    init_server(url)
    pg = connect(url)
    try:
        used = pg.execute("SELECT (SELECT count(*) FROM team_entries) + (SELECT count(*) FROM team_exposures)"
                          ).fetchone()[0]
        if used:
            raise SystemExit(f"the team database already holds {used} rows: give an empty one to --team-url")
        pg.execute("UPDATE team_meta SET value = %s WHERE key = 'salt'", (salt,))
    finally:
        pg.close()


@contextlib.contextmanager
def team_url(args: Any) -> Iterator[str | None]:
    """The team's URL: --team-url, a private server's for several users, or None (no team)."""
    salt = f"sim{args.seed:08x}"
    if args.team_url:
        prepare(args.team_url, salt)
        yield args.team_url
    elif args.users > 1 and not args.no_team:
        with private_server() as server, database(server.url, "once_sim") as url:
            prepare(url, salt)
            yield url
    else:
        yield None


def join(conn: Any, url: str, number: int) -> Any:
    from once.team import local
    from once.team.sync import Team

    name = f"user-{number}"
    local.join(conn, name)
    return Team(url, name)


def sync(conn: Any, team: Any, bank: Any) -> Any:
    """One `agent team sync` (no backoff sleeps: the server is local)."""
    from once.team.sync import sync as team_sync

    return team_sync(conn, team, bank=bank, attempts=1)
