"""`agent log` and `agent sessions`: what ran, step by step."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from once.cli.common import print_json, print_recovery, repo_dir, repo_root, terminal_safe
from once.words import cost_text, plural, status_words

DbOption = typer.Option(None, "--db", help="The SQLite file to read [$ONCE_DB].")


def _out(text: str = "") -> None:
    print(terminal_safe(text))


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _repo_filter(all_repos: bool, repo: Path | None) -> str | None:
    if all_repos:
        return None
    from once.errors import NotARepoError

    try:
        return str(repo_root(repo))
    except NotARepoError:
        return None


def log(
    run_id: Optional[str] = typer.Argument(None, help="Show this run step by step (a unique prefix is enough)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs to list."),
    all_repos: bool = typer.Option(False, "--all", help="List runs of every repository, not just this one."),
    json_out: bool = typer.Option(False, "--json", help="Print the same data as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd)."),
) -> None:
    """List recent runs, or show one run step by step.

    \b
    Examples:
      agent log
      agent log --all --json
      agent log r-1m7y
    """
    from once.errors import UsageError
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        _recover_here(store, repo)
        store.reap_dead_runs()
        if run_id is None:
            runs = store.list_runs(_repo_filter(all_repos, repo), limit=limit)
            if json_out:
                print_json([_run_dict(r) for r in runs])
            else:
                _print_runs(runs)
            return
        run = store.get_run(run_id)
        if run is None:
            raise UsageError(f"no run '{run_id}'", hint="List runs with `agent log`.")
        events = store.run_events(run.id)
    if json_out:
        print_json({"run": _run_dict(run), "events": events})
    else:
        _print_run(run, events)


def _recover_here(store: Any, repo: Path | None) -> None:
    """A killed run of this work tree gets its uncommitted edits committed before it is listed (not
    while a run is live here); the listing goes on whatever recovery says."""
    from once.config import load_settings
    from once.errors import NotARepoError, OnceError
    from once.recovery.recover import recover_when_idle
    from once.vcs import GitRepo

    try:
        git = GitRepo.open(repo_dir(repo))
    except NotARepoError:
        return
    try:
        print_recovery(recover_when_idle(git, store, dirty=load_settings(git.root).dirty))
    except OnceError as exc:
        print(f"note: could not recover a killed run's edits: {terminal_safe(exc.message)}", file=sys.stderr)


def _run_dict(run: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(run)


def _print_runs(runs: list[Any]) -> None:
    if not runs:
        _out("no runs yet: try `agent demo` or `agent run \"...\"`")
        return
    for run in runs:
        prompt = " ".join(run.prompt.split())
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        _out(f"{run.id}  {_when(run.started_at)}  {status_words(run.status):<18} {plural(run.turns, 'turn'):>9}  "
             f"{plural(run.commits, 'commit'):>10}  {cost_text(run.cost_usd, '-'):>9}  {prompt}")


def _print_run(run: Any, events: list[dict[str, Any]]) -> None:
    from once.event_lines import event_line

    _out(f"run {run.id}  ({status_words(run.status)})  session {run.session_id}")
    _out(f"repo {run.repo}  ·  {run.provider}/{run.model}  ·  started {_when(run.started_at)}")
    _out(f"prompt: {run.prompt}")
    for event in events:
        line = event_line(event)
        if line:
            _out(f"  {_when(event.get('ts'))[11:]}  {line}")
    _out(f"{plural(run.turns, 'turn')} · {plural(run.commits, 'commit')} · {run.input_tokens} in / "
         f"{run.output_tokens} out tokens · {cost_text(run.cost_usd, provider=run.provider)}")
    if run.result:
        _out("\n" + run.result)


def sessions(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many sessions to list."),
    all_repos: bool = typer.Option(False, "--all", help="List sessions of every repository."),
    json_out: bool = typer.Option(False, "--json", help="Print the same data as JSON."),
    db: Optional[Path] = DbOption,
    repo: Optional[Path] = typer.Option(None, "--repo", "-C", help="The repository (default: the cwd)."),
) -> None:
    """List sessions (conversations of several prompts). Continue one with
    `agent run --continue` (the latest here) or `agent run --session ID`."""
    from once.store import open_store

    with open_store(str(db) if db else None) as store:
        rows = store.list_sessions(_repo_filter(all_repos, repo), limit=limit)
    if json_out:
        print_json(rows)
        return
    if not rows:
        _out("no sessions yet")
        return
    for row in rows:
        title = " ".join((row.get("title") or row.get("first_prompt") or "").split())[:60]
        runs = plural(row.get("runs", row.get("run_count", 0)), "run")
        _out(f"{row['id']}  {_when(row.get('updated_at'))}  {runs:>8}  {title}")
