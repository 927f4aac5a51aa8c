"""`agent team`: share knowledge entries and their evidence with a team on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, repo_dir, reported
from once.words import plural

app = typer.Typer(
    name="team",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help=(
        "Share what the agent learned with a team: entries and their evidence pooled on a PostgreSQL "
        "server, so an entry is judged on everyone's sessions.\n\n"
        "What leaves this machine: admitted entries (global ones, and project ones of repositories "
        "listed in learn.team_repos), redacted again, and their exposures (entry, session id, arm, "
        "model, outcome, times). Never prompts, code, diffs, file names or paths. Teammates' entries "
        "that ask the agent to run commands, fetch URLs or change permissions wait for "
        "`agent knowledge review`.\n\n"
        "\b\nSetup:\n"
        "  agent config set learn.team_url postgresql://me@db.internal/once\n"
        "  agent team init        # once per team: creates the schema\n"
        "  agent team sync        # push and pull now (agent learn does it first)\n"
        "  agent team status"
    ),
)

DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
RepoOption = typer.Option(None, "--repo", "-C", help="The repository whose settings apply (default: the cwd's).")
JsonOption = typer.Option(False, "--json", help="Print JSON.")


def _settings(repo: Path | None) -> Any:
    from once.config import find_repo_root, load_settings

    return load_settings(find_repo_root(repo_dir(repo)))


@app.command("init")
def init_command(repo: Optional[Path] = RepoOption, db: Optional[Path] = DbOption) -> None:
    """Create (or migrate) the team schema on the server; safe to run again."""
    from once.store import open_store
    from once.team.server import shown_url
    from once.team.setup import require_team
    from once.team.sync import init_server

    with reported():
        settings = _settings(repo)
        with open_store(str(db) if db else None) as store:
            team = require_team(settings, store.conn)
        ran = init_server(team.url)
        typer.echo(f"team schema ready on {shown_url(team.url)}"
                   + (f" ({plural(ran, 'migration')} applied)" if ran else " (already up to date)"))
        typer.echo(f"you are {team.member}; run `agent team sync` to share what you learned")


@app.command("sync")
def sync_command(repo: Optional[Path] = RepoOption, db: Optional[Path] = DbOption,
                 json_out: bool = JsonOption) -> None:
    """Push what this machine learned and pull what teammates did, now."""
    from once.store import open_store
    from once.team.setup import require_team
    from once.team.sync import sync

    with reported():
        settings = _settings(repo)
        with open_store(str(db) if db else None) as store:
            team = require_team(settings, store.conn)
            report = sync(store.conn, team)
        if json_out:
            print_json({"pushed": report.pushed, "pulled": report.pulled, "review": report.review,
                        "seconds": round(report.seconds, 3), "attempts": report.attempts})
            return
        typer.echo(f"pushed {_counts(report.pushed)}; pulled {_counts(report.pulled)} in {report.seconds:.1f} s")
        if report.review:
            waits = "waits" if len(report.review) == 1 else "wait"
            typer.echo(f"{plural(len(report.review), 'teammate entry', 'teammate entries')} {waits} "
                       "for review: agent knowledge review")


def _counts(counts: dict[str, int]) -> str:
    return (f"{plural(counts['entry'], 'entry')}, {plural(counts['exposure'], 'exposure')}, "
            f"{plural(counts['decision'], 'decision')}")


@app.command("status")
def status_command(repo: Optional[Path] = RepoOption, db: Optional[Path] = DbOption,
                   json_out: bool = JsonOption) -> None:
    """What is shared, what waits to be sent, and when this machine last synced."""
    from once.store import open_store
    from once.team import local
    from once.team.server import shown_url
    from once.team.setup import team_from
    from once.team.sync import pooled_counts

    with reported():
        settings = _settings(repo)
        with open_store(str(db) if db else None) as store:
            team = team_from(settings, store.conn, join=False)
            conn = store.conn
            data = {
                "team_url": shown_url(team.url) if team else None,
                "member": team.member if team else local.member(conn),
                "shared_repos": list(team.repos) if team else [],
                "outbox": local.outbox_size(conn),
                "last_sync": float(local.get_meta(conn, local.SYNCED_KEY) or 0) or None,
                "last_error": local.get_meta(conn, local.ERROR_KEY) or None,
                "pooled": pooled_counts(conn),
                "teammates_entries": int(conn.execute("SELECT count(*) FROM knowledge WHERE author <> ''")
                                         .fetchone()[0]),
                "waiting_review": int(conn.execute("SELECT count(*) FROM knowledge WHERE status = 'review'")
                                      .fetchone()[0]),
            }
        if json_out:
            print_json(data)
            return
        if team is None:
            typer.echo("no team: learning stays on this machine "
                       "(agent config set learn.team_url postgresql://USER@HOST/DB to share it)")
            return
        typer.echo(f"team {data['team_url']} · you are {data['member']}")
        typer.echo("shared: global entries" + (f", project entries of {', '.join(team.repos)}" if team.repos
                                               else " (no project is opted in: learn.team_repos)"))
        when = data["last_sync"]
        typer.echo(f"last sync: {time.strftime('%Y-%m-%d %H:%M', time.localtime(when)) if when else 'never'}"
                   f" · waiting to be sent: {data['outbox']}")
        if data["last_error"]:
            typer.echo(f"last error: {data['last_error'].split(' ', 1)[-1]}")
        pooled = data["pooled"]
        typer.echo(f"pooled evidence: {plural(pooled['exposures'], 'exposure')} from "
                   f"{plural(pooled['members'], 'teammate')} on {plural(pooled['entries'], 'entry')}; "
                   f"{data['teammates_entries']} teammates' entries here, {data['waiting_review']} waiting for review")
