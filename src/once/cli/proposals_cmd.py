"""`agent proposals`: Change proposals from your corrections, to memory, skills and knowledge."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import in_repo_hint, print_json, repo_root, reported, terminal_safe
from once.words import plural

app = typer.Typer(
    help=(
        "Change proposals from your corrections, to memory, skills and knowledge.\n\n"
        "Your corrections (/note TEXT, a plan rejected with a reason, `agent undo --reason TEXT`, "
        "`agent feedback down --comment TEXT`) become proposals. Memory proposals are applied to "
        ".once/memory.md at once (`agent memory history` / `revert`); knowledge proposals become "
        "knowledge entries on probation; skill proposals (procedures of several steps, or text "
        "starting with 'skill:') wait for `agent proposals approve ID`. A rejected proposal is "
        "never proposed again. Start a correction with 'memory:', 'skill:' or 'knowledge:' to choose.\n\n"
        "\b\nExamples:\n"
        "  agent proposals scan\n"
        "  agent proposals list\n"
        "  agent proposals approve p-1m7y"
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)

OUTSIDE_HINT = in_repo_hint("Proposals belong to a repository")
DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd).")
NoteOption = typer.Option("", "--note", "-m", help="Why (kept with the decision).")


def _line(p: Any) -> str:
    body = " ".join(p.body.split()) if p.target != "skill" else f"skill {p.location}"
    body = body if len(body) <= 70 else body[:69] + "…"
    return f"{p.id}  {p.status:<10} {p.target:<9} {p.confidence:.2f}  {body}"


@app.command("scan")
def scan(
    json_out: bool = typer.Option(False, "--json", help="Print what was proposed, applied and skipped as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Turn this repository's new corrections into proposals (running it again proposes nothing new)."""
    from once.corrections.actions import scan as scan_repo
    from once.corrections.repository import get_proposal
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            report = scan_repo(store.conn, str(root))
            made = [get_proposal(store.conn, pid) for pid in report.proposed]
    if json_out:
        print_json({**report.to_dict(), "proposals": [p.to_dict() for p in made]})
        return
    typer.echo(f"{plural(report.corrections, 'correction')}, {plural(len(report.proposed), 'new proposal')}, "
               f"{report.already_seen} already handled")
    for reason, refs in report.skipped.items():
        typer.echo(f"  skipped {len(refs)}: {reason}")
    for proposal in made:
        typer.echo(terminal_safe(_line(proposal)))
    if any(p.status == "pending" for p in made):
        typer.echo("review with `agent proposals show ID`, then `agent proposals approve ID` or `reject ID`")


@app.command("list")
def list_command(
    status: Optional[str] = typer.Option(None, "--status", "-s", help="Only pending, applied, approved, rejected or superseded."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many to list."),
    json_out: bool = typer.Option(False, "--json", help="Print the proposals as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """List this repository's proposals, newest first: id, status, target, confidence, change."""
    from once.corrections.proposals import STATUSES
    from once.corrections.repository import list_proposals
    from once.errors import UsageError
    from once.store import open_store

    with reported():
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown status '{status}'", hint=f"Use one of: {', '.join(STATUSES)}.")
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            rows = list_proposals(store.conn, str(root), status, limit)
    if json_out:
        print_json([p.to_dict() for p in rows])
        return
    if not rows:
        typer.echo("no proposals: corrections become proposals with `agent proposals scan`")
    for proposal in rows:
        typer.echo(terminal_safe(_line(proposal)))


@app.command("show")
def show(
    proposal_id: str = typer.Argument(..., metavar="ID", help="The proposal (a unique prefix is enough)."),
    json_out: bool = typer.Option(False, "--json", help="Print the proposal as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Show one proposal: what it changes, why, and what changes for you."""
    from once.corrections.repository import get_proposal
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            p = get_proposal(store.conn, proposal_id, str(root))
    if json_out:
        print_json(p.to_dict())
        return
    where = {"memory": f".once/memory.md, section '{p.location}'", "skill": f".once/skills/{p.location}/SKILL.md",
             "knowledge": f"knowledge entry '{p.location}'"}[p.target]
    lines = [f"{p.id}  {p.status}  ({p.target}, {p.op}; confidence {p.confidence:.2f}; proposed by {p.proposed_by})",
             f"changes:  {where}", f"why:      {p.rationale}", f"outcome:  {p.expected}"]
    if p.replaces:
        lines.append(f"replaces: {p.replaces}")
    if p.note:
        lines.append(f"note:     {p.note}")
    if p.result:
        lines.append(f"result:   {p.result}")
    lines += ["", p.body]
    typer.echo(terminal_safe("\n".join(lines)))


@app.command("approve")
def approve(
    proposal_id: str = typer.Argument(..., metavar="ID", help="The pending proposal (a unique prefix is enough)."),
    note: str = NoteOption,
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Apply a pending proposal (a skill is written to .once/skills/NAME/SKILL.md)."""
    from once.corrections.actions import approve as approve_proposal
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            p = approve_proposal(store.conn, root, proposal_id, note=note, now=time.time)
    typer.echo(terminal_safe(f"{p.id} {p.status}: {p.result}"))


@app.command("reject")
def reject(
    proposal_id: str = typer.Argument(..., metavar="ID", help="The proposal (a unique prefix is enough)."),
    note: str = NoteOption,
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Reject a proposal; it becomes an anti-lesson, never proposed again. An applied memory
    proposal is taken out of .once/memory.md; an applied knowledge entry is pruned."""
    from once.corrections.actions import reject as reject_proposal
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            p = reject_proposal(store.conn, root, proposal_id, note=note, now=time.time)
    typer.echo(terminal_safe(f"{p.id} rejected: it will not be proposed again"))
