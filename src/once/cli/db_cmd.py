"""`agent db path`: where the SQLite database is, for datasette, sqlite-utils or sqlite3."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from once.cli.common import print_json, reported

app = typer.Typer(
    help=(
        "The SQLite database once keeps runs, sessions, events and knowledge in.\n\n"
        "Every table is plain SQLite: browse it with datasette or query it with sqlite-utils, "
        "even while a run writes to it (the database is in WAL mode).\n\n"
        "\b\nExamples:\n"
        '  datasette "$(agent db path)"\n'
        '  sqlite-utils tables "$(agent db path)" --counts\n'
        '  sqlite-utils rows "$(agent db path)" runs --limit 5'
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)


@app.command("path")
def path(
    json_out: bool = typer.Option(False, "--json", help='Print {"path", "exists"} (exit 0 even when it does not).'),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB]."),
) -> None:
    """Print the database's path: --db, else $ONCE_DB, else $XDG_DATA_HOME/once/once.db.

    Fails (exit 1) when there is no database there yet: the first run creates it. Nothing is
    opened or created.
    """
    from once.errors import StoreError
    from once.paths import db_path

    where = db_path(db).absolute()
    if json_out:
        print_json({"path": str(where), "exists": where.is_file()})
        return
    with reported():
        if where.is_dir():
            raise StoreError(f"{where} is a directory, not a once database",
                             hint="Name the database file with --db PATH or $ONCE_DB.")
        if not where.is_file():
            raise StoreError(f"no once database at {where} yet",
                             hint="The first `agent run` (or the app) creates it. To use another file, pass "
                                  "--db PATH or set ONCE_DB.")
    print(where)
