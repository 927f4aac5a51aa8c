"""`agent knowledge review` and `block`: a person decides on teammates' entries; and the local
and team figures `agent knowledge show` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, reported, terminal_safe

_REVIEWED_KEY = "team_reviewed_at"


def register(app: typer.Typer, db_option: Any, json_option: Any) -> None:
    @app.command("review")
    def review_command(
        approve: Optional[list[str]] = typer.Option(None, "--approve", help="Let this entry go live here (repeat)."),
        block: Optional[list[str]] = typer.Option(None, "--block", help="Never inject this entry here (repeat)."),
        json_out: bool = json_option, db: Optional[Path] = db_option,
    ) -> None:
        """Teammates' entries: those waiting for you (they ask the agent to run commands, fetch URLs
        or change permissions) and those new since your last review.

        \b
        Examples:
          agent knowledge review
          agent knowledge review --approve k-3f2a --block k-9c1e
        """
        with reported():
            _review(approve or [], block or [], json_out, db)

    @app.command("block")
    def block_command(entry_id: str = typer.Argument(..., help="The entry's id (a unique prefix is enough)."),
                      db: Optional[Path] = db_option) -> None:
        """Never inject this entry on this machine (it stays in the team; `review --approve` undoes it)."""
        with reported():
            _decide([], [entry_id], db)


def _decide(approve: list[str], block: list[str], db: Path | None) -> list[str]:
    from once.errors import UsageError
    from once.learn.bank import Bank
    from once.store import open_store

    done = []
    with open_store(str(db) if db else None) as store:
        bank = Bank(store.conn)
        for wanted, status, action in [*((i, "probation", "approve") for i in approve),
                                       *((i, "blocked", "block") for i in block)]:
            entry = bank.get(wanted)
            if entry is None:
                raise UsageError(f"no knowledge entry '{wanted}'", hint="List them with `agent knowledge review`.")
            if entry.status == status:
                continue
            if action == "approve" and entry.status not in ("review", "blocked"):
                raise UsageError(f"{entry.id} is {entry.status}, not waiting for review or blocked")
            bank.set_status(entry.id, status, f"{action}d by you", action)
            done.append(f"{entry.id} {status}")
    for line in done:
        typer.echo(line)
    return done


def _review(approve: list[str], block: list[str], json_out: bool, db: Path | None) -> None:
    import time

    from once.learn.bank import Bank
    from once.store import open_store
    from once.store.db import transaction
    from once.team import local

    if approve or block:
        _decide(approve, block, db)
        return
    with open_store(str(db) if db else None) as store:
        conn = store.conn
        since = float(local.get_meta(conn, _REVIEWED_KEY) or 0)
        rows = conn.execute("SELECT id FROM knowledge WHERE author <> '' AND (status = 'review' OR created_at > ?)"
                            " ORDER BY status <> 'review', created_at", (since,)).fetchall()
        bank = Bank(conn)
        entries = [bank.get(row[0]) for row in rows]
        with transaction(conn):
            local.set_meta(conn, _REVIEWED_KEY, f"{time.time():.3f}")
    if json_out:
        print_json([e.to_dict() for e in entries if e is not None])
        return
    if not entries:
        typer.echo("nothing to review: no teammate's entry waits, and none is new since your last review")
        return
    for entry in entries:
        if entry is None:
            continue
        mark = "WAITS" if entry.status == "review" else "new"
        typer.echo(terminal_safe(f"{entry.id}  {mark:<5}  from {entry.author}  {entry.scope}  {entry.title}"))
        if entry.status == "review":
            typer.echo(terminal_safe(f"    why: {entry.status_reason}"))
        typer.echo(terminal_safe("    injects: " + entry.knowledge.replace("\n", " ")[:300]))
    typer.echo("approve with `agent knowledge review --approve ID`, refuse with `--block ID`")


def figure_lines(conn: Any, entry_id: str) -> list[str]:
    """This install's evidence on the entry and, with a team, the pooled evidence."""
    from once.learn.pipe_evaluate import entry_figures

    figures = entry_figures(conn, entry_id)
    lines = []
    for name, ev in figures.items():
        here = figures["here"]
        if ev is None or ev.n == 0 or (name == "team" and here is not None and ev.n == here.n):
            continue
        lines.append(f"{'evidence here' if name == 'here' else 'team (pooled)'}: injected {ev.s_injected}/"
                     f"{ev.n_injected} ok, held out {ev.s_holdout}/{ev.n_holdout}; P(inject beats holdout) "
                     f"{ev.p_beats:.2f}; lift {ev.lift:+.0%} ({ev.lift_lo:+.0%} to {ev.lift_hi:+.0%}); "
                     f"e-value harm {ev.e_harm:.2g}, help {ev.e_help:.2g}")
    rows = conn.execute("SELECT member, ts, action, from_status, to_status, reason FROM team_decisions"
                        " WHERE entry_id = ? ORDER BY ts DESC LIMIT 5", (entry_id,)).fetchall()
    lines += [f"team decision by {r[0]}: {r[2]} {r[3]} -> {r[4]} ({r[5]})" for r in rows]
    return lines
