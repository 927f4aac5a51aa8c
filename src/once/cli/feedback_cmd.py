"""`agent feedback`: Rate responses and export rated runs as training data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, repo_root, reported, terminal_safe
from once.words import plural

app = typer.Typer(
    help=(
        "Rate responses and export rated runs as training data.\n\n"
        "A rating is stored with the run, the turn and the model. A thumbs-down with a comment is "
        "also a correction: `agent proposals scan` turns it into a proposed lesson.\n\n"
        "\b\nExamples:\n"
        "  agent feedback up\n"
        "  agent feedback down --comment \"tests live in tests/unit\"\n"
        "  agent feedback stats\n"
        "  agent feedback export --format openai --out train.jsonl"
    ),
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
)

DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd).")
BAR_WIDTH = 30
ALL_HINT = "Run it in a repository (cd into it, or pass -C PATH), or pass --all for every repository."


def _rate(rating: str, run: str | None, comment: str, turn: int | None, db: Path | None,
          repo: Path | None, json_out: bool) -> None:
    from once.corrections.feedback import record_feedback
    from once.store import open_store

    with reported():
        root = None if run else str(repo_root(repo, "Run it in the run's repository (cd into it, or pass -C PATH), "
                                                     "or name the run with --run ID."))
        with open_store(str(db) if db else None) as store:
            event = record_feedback(store, repo=root, rating=rating, run_id=run, comment=comment, turn=turn)
    if json_out:
        print_json(event.to_dict())
        return
    turn_text = f" turn {event.turn}" if event.turn is not None else ""
    typer.echo(terminal_safe(f"thumbs {rating} recorded for run {event.run_id}{turn_text} ({event.model or 'unknown model'})"))
    if rating == "down" and event.comment:
        typer.echo("your comment is a correction: the next `agent learn` (or `agent proposals scan`) proposes a lesson from it")


@app.command("up")
def up(
    run: Optional[str] = typer.Option(None, "--run", "-r", help="The run to rate (a prefix is enough; default: the latest run here)."),
    comment: str = typer.Option("", "--comment", "-m", help="What was good about it."),
    turn: Optional[int] = typer.Option(None, "--turn", min=1, help="The model turn to rate (default: the run's last response)."),
    json_out: bool = typer.Option(False, "--json", help="Print the stored feedback event as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Thumbs up: the response was good. Example: agent feedback up --run r-1m7y"""
    _rate("up", run, comment, turn, db, repo, json_out)


@app.command("down")
def down(
    run: Optional[str] = typer.Option(None, "--run", "-r", help="The run to rate (a prefix is enough; default: the latest run here)."),
    comment: str = typer.Option("", "--comment", "-m", help="What was wrong, in your words (becomes a correction)."),
    turn: Optional[int] = typer.Option(None, "--turn", min=1, help="The model turn to rate (default: the run's last response)."),
    json_out: bool = typer.Option(False, "--json", help="Print the stored feedback event as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Thumbs down: the response was bad. Example: agent feedback down -m "use the stdlib, no new deps\""""
    _rate("down", run, comment, turn, db, repo, json_out)


def _bar(up: int, down: int, scale: float) -> str:
    return "+" * round(up * scale) + "-" * round(down * scale)


def _print_stats(stats: Any) -> None:
    total = stats.total
    if total.up + total.down == 0:
        typer.echo("no ratings yet: rate a response with `agent feedback up` or `agent feedback down`")
        return
    typer.echo(f"{total.up} up, {total.down} down: {total.rate:.0%} positive")
    if stats.superseded:
        typer.echo(f"({plural(stats.superseded, 'earlier rating')} replaced by a later rating of the same response)")
    typer.echo("\nper model:")
    for model, tally in sorted(stats.by_model.items()):
        typer.echo(terminal_safe(f"  {model:<28} {tally.up:>4} up {tally.down:>4} down  {tally.rate:>4.0%}"))
    typer.echo("\nover time (+ up, - down):")
    biggest = max(t.up + t.down for t in stats.by_period.values())
    scale = min(1.0, BAR_WIDTH / biggest)
    for period, tally in stats.by_period.items():
        typer.echo(f"  {period:<10} {_bar(tally.up, tally.down, scale):<{BAR_WIDTH}} "
                   f"{tally.up:>3}/{tally.up + tally.down:<3} {tally.rate:>4.0%}")


@app.command("stats")
def stats(
    period: str = typer.Option("day", "--by", help="Group the chart by day, week or month."),
    all_repos: bool = typer.Option(False, "--all", help="Count ratings of every repository, not just this one."),
    json_out: bool = typer.Option(False, "--json", help="Print totals, per-model and per-period counts as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Ratings so far: counts and the share of thumbs up, per model and over time (a small chart).

    When a response was rated more than once, its latest rating counts.
    """
    from once.corrections.feedback import load_ratings, summarize
    from once.store import open_store

    with reported():
        root = None if all_repos else str(repo_root(repo, ALL_HINT))
        with open_store(str(db) if db else None) as store:
            result = summarize(load_ratings(store.conn, root), period)
    if json_out:
        print_json(result.to_dict())
    else:
        _print_stats(result)


def _summary_text(summary: Any) -> str:
    lines = [f"wrote {plural(summary.written, 'example')} ({summary.positive} up, {summary.negative} down) "
             f"in {summary.format} format to {summary.out}"]
    for reason, count in summary.filtered.items():
        lines.append(f"  left out {count}: {reason}")
    return "\n".join(lines)


@app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl (generic, with rating and weight), anthropic "
                            "({system, messages}) or openai (chat fine-tuning; preference pairs with --include-negative)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write here (default: stdout; the summary goes to stderr)."),
    min_examples: int = typer.Option(1, "--min-examples", min=0, help="Write nothing and fail when fewer examples remain."),
    include_negative: bool = typer.Option(False, "--include-negative", help="Include thumbs-down responses."),
    balance: bool = typer.Option(False, "--balance", help="Keep as many thumbs-up as thumbs-down (jsonl with --include-negative)."),
    system: Optional[str] = typer.Option(None, "--system", help="The system prompt to put in each example (default: once's base prompt)."),
    all_repos: bool = typer.Option(False, "--all", help="Export ratings of every repository, not just this one."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON (on stderr when writing to stdout)."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = RepoOption,
) -> None:
    """Write rated responses as fine-tuning data: the conversation before each response, the
    response, its rating and a weight (1 / examples from the same session). Secrets are redacted.

    Examples:

      agent feedback export --format openai --out train.jsonl

      agent feedback export --include-negative --balance --min-examples 50 > pairs.jsonl
    """
    from once.corrections.export import FORMATS, balance_applies, export_lines
    from once.errors import OnceError, UsageError
    from once.store import open_store

    with reported():
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'", hint=f"Use one of: {', '.join(FORMATS)}.")
        root = None if all_repos else str(repo_root(repo, ALL_HINT))
        with open_store(str(db) if db else None) as store:
            lines, summary = export_lines(store.conn, root, fmt, system=system if system is not None else _system(root),
                                          include_negative=include_negative, balance=balance)
        summary.out = str(out) if out else "stdout"
        if summary.written < min_examples:  # not a usage error: the flags were right, the ratings too few
            raise OnceError(f"only {plural(summary.written, 'example')} to export, fewer than --min-examples {min_examples}; "
                             "nothing was written", hint=_left_out(summary))
        if out:
            from once.atomic import atomic_write_text

            atomic_write_text(out, "".join(line + "\n" for line in lines))
        else:
            sys.stdout.write("".join(line + "\n" for line in lines))
    if balance and not balance_applies(fmt, include_negative):
        typer.echo("note: --balance only applies to --format jsonl with --include-negative", err=True)
    to_err = out is None
    if json_out:
        import json

        typer.echo(json.dumps(summary.to_dict(), indent=2), err=to_err)
    else:
        typer.echo(_summary_text(summary), err=to_err)


def _left_out(summary: Any) -> str | None:
    parts = [f"{count} {reason}" for reason, count in summary.filtered.items()]
    return "left out: " + "; ".join(parts) if parts else "Rate more responses with `agent feedback up|down`."


def _system(root: str | None) -> str:
    from once.agent.prompt import PromptContext, build_system_prompt

    return build_system_prompt(PromptContext(repo_name=Path(root).name if root else "repository", branch=None))
