"""`agent learn`: detect -> extract -> cluster/merge -> admit -> evaluate -> prune, with a report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, repo_dir, reported
from once.words import plural


def parse_since(text: str | None, now: float) -> float | None:
    """`2024-05-01`, an ISO date-time, or a span back from now like `7d`, `12h`, `2w`."""
    from once.errors import UsageError

    if text is None:
        return None
    raw = text.strip()
    spans = {"h": 3600.0, "d": 86_400.0, "w": 7 * 86_400.0}
    if raw[:-1].isdigit() and raw[-1:] in spans:
        return now - int(raw[:-1]) * spans[raw[-1]]
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(f"cannot read --since {text!r}",
                         hint="Give a date like 2024-05-01, a date-time like 2024-05-01T09:00, or a span like 7d.") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a plain date means local midnight
    return when.timestamp()


def _settings(repo: Path | None) -> Any:
    from once.config import find_repo_root, load_settings

    return load_settings(find_repo_root(repo_dir(repo)))


def _policy(settings: Any) -> Any:
    from once.learn.evaluate import Policy

    table = getattr(settings, "learn", None)
    if table is None:
        return Policy()
    return Policy(alpha=table.alpha, change_holdout=table.change_holdout, decay_days=table.decay_days,
                  probation_budget=table.probation_budget)


def _small(settings: Any, offline: bool, replay_small: Path | None) -> Any:
    """The small model that writes entries and judges episodes, when one is reachable; None
    means offline templates and heuristics (no key, `--offline`, or a local one-model server)."""
    import os

    from once.agent.small import small_ask
    from once.providers import make_provider

    if offline:
        return None
    if replay_small is not None:
        return small_ask(make_provider("replay", replay=replay_small), settings.small_model, prices=settings.prices)
    if settings.provider == "anthropic" and not (os.environ.get("ANTHROPIC_API_KEY")
                                                 or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        return None
    if settings.provider == "replay" or (settings.provider == "openai" and not settings.base_url):
        return None
    server = settings.base_url if settings.provider == "openai" else None
    return small_ask(make_provider(settings.provider, base_url=server, timeout=settings.request_timeout),
                     settings.small_model, prices=settings.prices)


def _team_sync(conn: Any, team: Any, *, after: bool = False) -> str:
    """Sync with the team; when it cannot be reached, say so and learn from what is here (the
    outbox keeps everything for the next sync)."""
    from once.team.server import TeamUnavailable
    from once.team.sync import sync

    try:
        report = sync(conn, team, attempts=1 if after else 3)
    except TeamUnavailable as exc:
        return f"; not sent yet ({exc})" if after else f"unreachable, learned from local evidence only ({exc})"
    if after:
        return ""
    pulled = report.pulled
    return (f"synced in {report.seconds:.1f} s: pulled {plural(pulled['entry'], 'entry')}, "
            f"{plural(pulled['exposure'], 'exposure')}; pushed {plural(report.pushed['exposure'], 'exposure')}")


def learn(
    dry_run: bool = typer.Option(False, "--dry-run", help="Run every stage and report, but write nothing."),
    since: Optional[str] = typer.Option(
        None, "--since", help="Scan sessions active since DATE (2024-05-01, or 7d, 12h, 2w). "
                              "Default: since the last `agent learn`, or everything the first time."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="The model in use now (default: the latest run's). Entries learned "
                                    "under another model go back to probation with a higher holdout."),
    offline: bool = typer.Option(False, "--offline", help="Write entries from templates and judge episodes by "
                                                          "heuristics only, even when a model is reachable."),
    replay_small: Optional[Path] = typer.Option(None, "--replay-small", help="Replay the small model's answers from "
                                                                             "this cassette (tests, demos)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    output: str = typer.Option("text", "--output", "-o", help="text or json (same as --json)."),
    db: Optional[Path] = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB]."),
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="The repository: its settings, and where a global "
                                                                "entry ready to be a skill is proposed."),
) -> None:
    """Learn from recorded sessions: find where you got stuck and what got you unstuck, turn it
    into knowledge entries, and measure the entries already in use.

    Stages: detect signals (repeated requests, complaints, the same failure again, thumbs-down,
    undo, corrections, loops, abandonment) -> stuck episodes -> extract an entry from each
    resolved one -> merge near-duplicates -> admission check (probation) -> evaluate each
    entry's injected vs holdout sessions -> promote, demote or prune. Then the corrections:
    your notes, rejected plans and undo reasons become proposals (as `agent proposals scan`),
    an entry whose benefit is established is proposed as a skill (`agent proposals approve
    ID` writes it), and contradicting memory corrections are listed with the conflicts.

    Reversible moves follow the posterior probability that injecting beats holding out;
    pruning waits for an always-valid test (e-value >= 1/alpha), so running this often does
    not inflate false prunes.

    \b
    Examples:
      agent learn --dry-run
      agent learn --since 2w
      agent learn --json
    """
    import time

    from once.errors import UsageError
    from once.learn.pipeline import LearnOptions, run_learn
    from once.store import open_store
    from once.team.setup import team_from

    with reported():
        if output not in ("text", "json"):
            raise UsageError(f"unknown output format '{output}'", hint="Use -o text or -o json.")
        now = time.time()
        settings = _settings(repo)
        from once.config import find_repo_root

        root = find_repo_root(repo_dir(repo))
        options = LearnOptions(dry_run=dry_run, since=parse_since(since, now), model=model or "",
                               policy=_policy(settings), now=now, repo=str(root) if root else None,
                               small=_small(settings, offline, replay_small))
        with open_store(str(db) if db else None) as store:
            if not options.model:  # the model in use is the one the latest run used
                latest = store.latest_run()
                options.model = latest.model if latest is not None else settings.model
            team = None if dry_run else team_from(settings, store.conn)
            before = _team_sync(store.conn, team) if team else ""
            report = run_learn(store.conn, options)
            if team:  # the decisions just made go to the team too
                report.team = before + _team_sync(store.conn, team, after=True)
        if json_out or output == "json":
            print_json(report.to_dict())
            return
        from rich.console import Console

        from once.learn.report import render

        render(report, Console(highlight=False))
