"""`agent memory`: The project memory (.once/memory.md): show, history, revert."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Optional

import typer

from once.cli.common import in_repo_hint, print_json, repo_root, reported, terminal_safe

app = typer.Typer(
    help=(
        "The project memory (.once/memory.md): show, history, revert.\n\n"
        "Memory is always in the agent's context. Your corrections (/note, `agent undo --reason`) "
        "are added to it by `agent proposals scan`; a newer correction that contradicts an older one "
        "replaces it, and both stay in the history. You can also edit the file by hand.\n\n"
        "\b\nExamples:\n"
        "  agent memory show\n"
        "  agent memory history\n"
        "  agent memory revert mh-1m7y"
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)

OUTSIDE_HINT = in_repo_hint("The memory is a repository's .once/memory.md")
DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd).")


@app.command("show")
def show(
    json_out: bool = typer.Option(False, "--json", help='Print {"path", "exists", "text"} as JSON.'),
    repo: Optional[Path] = RepoOption,
) -> None:
    """Print .once/memory.md as the agent sees it."""
    from once.corrections.memory import memory_path, read_memory

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        text = read_memory(root)
    path = memory_path(root)
    if json_out:
        print_json({"path": str(path), "exists": path.exists(), "text": text})
        return
    if not text.strip():
        typer.echo(f"{path} is empty: add corrections with /note TEXT, then `agent proposals scan`")
        return
    typer.echo(terminal_safe(text.rstrip("\n")))


@app.command("history")
def history(
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many changes to list."),
    diff: bool = typer.Option(False, "--diff", help="Show each change as a diff."),
    json_out: bool = typer.Option(False, "--json", help="Print the changes (with the whole file before and after) as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Every change to the memory, newest first: what applied or reverted it, and the lines changed."""
    from once.corrections.memory import history as load_history
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            changes = load_history(store.conn, str(root), limit)
    if json_out:
        print_json([c.to_dict() for c in changes])
        return
    if not changes:
        typer.echo("no memory changes yet")
    for change in changes:
        when = dt.datetime.fromtimestamp(change.ts).strftime("%Y-%m-%d %H:%M")
        extra = f" (replaced {change.supersedes})" if change.supersedes else ""
        typer.echo(terminal_safe(f"{change.id}  {when}  {change.action:<7} {change.proposal_id}{extra}"
                                 + (f"  {change.note}" if change.note else "")))
        for line in _changed_lines(change.before, change.after, diff):
            typer.echo(terminal_safe(f"    {line}"))


def _changed_lines(before: str, after: str, full: bool) -> list[str]:
    import difflib

    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))[2:]
    return lines if full else [line for line in lines if line[:1] in "+-"]


@app.command("revert")
def revert(
    change_id: str = typer.Argument(..., metavar="ID", help="A change id from `agent memory history`, or its proposal's id."),
    note: str = typer.Option("", "--note", "-m", help="Why (kept in the history)."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Take back one applied correction: its line leaves memory.md (a line it replaced comes back).
    The correction becomes an anti-lesson and is not proposed again."""
    from once.corrections.memory import revert_memory
    from once.ids import new_id
    from once.store import open_store

    with reported():
        root = repo_root(repo, OUTSIDE_HINT)
        with open_store(str(db) if db else None) as store:
            change = revert_memory(store.conn, root, str(root), change_id, change_id=new_id("mh"),
                                   now=time.time(), note=note)
    typer.echo(terminal_safe(f"reverted {change.proposal_id} ({change.id})"))
    for line in _changed_lines(change.before, change.after, False):
        typer.echo(terminal_safe(f"    {line}"))
