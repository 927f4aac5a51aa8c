"""`agent queue`: Queue prompts for the app or scripts; `agent queue run` drains it headlessly."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from once.cli.common import in_repo_hint, open_repo, print_json, repo_root, reported, terminal_safe
from once.cli.run_options import (
    BaseUrlOpt, DbOpt, DirtyOpt, MaxCostOpt, MaxTurnsOpt, ModelOpt, PermissionOpt, ProviderOpt, RecordOpt,
    ReplayOpt, ReplaySmallOpt, RunOptions, SmallModelOpt,
)

if TYPE_CHECKING:
    from once.queue.store import PromptQueue, QueueItem

app = typer.Typer(
    name="queue",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help=(
        "Queue prompts for the app or scripts; `agent queue run` drains it headlessly.\n\n"
        "The queue belongs to the repository and lives in the database, so the app and scripts "
        "share it. Items run one at a time, in order, each as a run of its own (see `agent log`). "
        "An ITEM is its number in `agent queue list`, its id, or a unique start of the id.\n\n"
        "\b\nExamples:\n"
        "  agent queue add \"fix the failing test\"\n"
        "  agent queue add --repeat 3 \"run the flaky test\"\n"
        "  agent queue list\n"
        "  agent queue move 3 top\n"
        "  agent queue move 3 1           (item 3 becomes number 1)\n"
        "  agent queue run --replay c.json"
    ),
)


class ListFormat(str, Enum):
    text = "text"
    json = "json"


RepoOption = typer.Option(None, "--repo", "-C", help="The repository (default: the one around the cwd).")
DbOption = typer.Option(None, "--db", help="The SQLite file [$ONCE_DB].")
FormatOption = typer.Option(ListFormat.text, "--output-format", "-o", help="text, or json for scripts.")
JsonOption = typer.Option(False, "--json", help="Same as -o json.")
OUTSIDE_HINT = in_repo_hint("The queue belongs to a repository")
ItemArg = typer.Argument(..., metavar="ITEM", help="Number in `agent queue list`, id, or unique id prefix.")


@contextmanager
def _queue(db: Optional[Path], repo: Optional[Path]) -> Iterator["PromptQueue"]:
    """This repository's queue; errors become messages and exit codes."""
    from once.queue.store import PromptQueue
    from once.store import open_store

    with reported():
        root = str(repo_root(repo, OUTSIDE_HINT))
        with open_store(str(db) if db else None) as store:
            yield PromptQueue(store.conn, root)


def _json(fmt: ListFormat, flag: bool) -> bool:
    return flag or fmt is ListFormat.json


def _line(item: "QueueItem") -> str:
    text = " ".join(item.text.split())
    text = text if len(text) <= 70 else text[:69] + "…"
    runs = f"{item.runs_done}/{item.repeat}" if item.repeat > 1 or item.runs_done > 1 else ""
    link = item.run_id or "-"
    return terminal_safe(f"{item.number:>3}  {item.id}  {item.status:<7} {runs:>5}  {link:<16}  {text}")


def paused_line(reason: str) -> str:
    why = f" ({reason})" if reason else ""
    return f"the queue is paused{why}: `agent queue resume` lets it run again"


def _out(item: "QueueItem", as_json: bool, verb: str) -> None:
    if as_json:
        print_json(item.to_dict())
    else:
        typer.echo(f"{verb}: {_line(item).strip()}")


@app.command("add")
def add(
    prompt: str = typer.Argument(..., metavar="PROMPT", help="What the agent should do; - reads it from stdin."),
    repeat: int = typer.Option(1, "--repeat", "-n", help="Run it this many times in all (1 to 50)."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Add a prompt at the end of this repository's queue."""
    text = sys.stdin.read() if prompt == "-" else prompt
    with _queue(db, repo) as queue:
        item = queue.add(text, repeat=repeat)
        item = queue.get(item.id)  # with its number in the listing
    _out(item, _json(output_format, json_out), "queued")


@app.command("list")
def list_command(
    pending: bool = typer.Option(False, "--pending", help="Only items still to run (queued or running)."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """List the queue in order: number, id, status, runs/repeat, latest run, prompt.

    Statuses: queued, running, done, failed. Show a run with `agent log RUN`.
    """
    with _queue(db, repo) as queue:
        items, state = queue.items(include_finished=not pending), queue.state()
    if _json(output_format, json_out):
        print_json({"paused": state.paused, "pause_reason": state.reason or None,
                    "items": [item.to_dict() for item in items]})
        return
    if state.paused:
        typer.echo(terminal_safe(paused_line(state.reason)))
    if not items:
        typer.echo('the queue is empty: add a prompt with `agent queue add "..."`')
    for item in items:
        typer.echo(_line(item))


@app.command("edit")
def edit(
    item: str = ItemArg,
    text: str = typer.Argument(..., metavar="TEXT", help="The new prompt; - reads it from stdin."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Replace a queued item's prompt (running and finished items keep theirs)."""
    text = sys.stdin.read() if text == "-" else text
    with _queue(db, repo) as queue:
        edited = queue.get(queue.edit(item, text).id)
    _out(edited, _json(output_format, json_out), "edited")


@app.command("rm")
def remove(
    items: list[str] = typer.Argument(..., metavar="ITEM...", help="Items to remove (numbers, ids or prefixes)."),
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Remove items from the queue (not a running one: cancel it first)."""
    with _queue(db, repo) as queue:
        # Resolve every item first: numbers shift once one is gone.
        ids = [queue.get(key).id for key in items]
        for item_id in ids:
            queue.remove(item_id)
    for item_id in ids:
        typer.echo(f"removed {item_id}")


@app.command("move")
def move(
    item: str = ItemArg,
    where: str = typer.Argument(..., metavar="up|down|top|bottom|N",
                                help="up or down past the next pending item, top, bottom, or the number N "
                                     "(in `agent queue list`) the item should have."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Move a queued item: agent queue move ITEM up|down|top|bottom|N.

    \b
    Examples:
      agent queue move 3 up         (past the pending item above it)
      agent queue move 3 top
      agent queue move 3 1          (item 3 becomes number 1; the others keep their order)
    """
    with _queue(db, repo) as queue:
        moved = queue.get(queue.move(item, where.lower()).id)
    _out(moved, _json(output_format, json_out), "moved")


@app.command("repeat")
def repeat(
    item: str = ItemArg,
    times: int = typer.Argument(..., metavar="N", help="Run it N times in all, 1 to 50 (finished runs count)."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption,
) -> None:
    """Set how many times an item runs. A failed run ends the repeats."""
    with _queue(db, repo) as queue:
        changed = queue.get(queue.set_repeat(item, times).id)
    _out(changed, _json(output_format, json_out), "repeat set")


@app.command("pause")
def pause(db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption) -> None:
    """Stop starting queued items (a running one finishes); the app and `queue run` both obey."""
    with _queue(db, repo) as queue:
        queue.pause()
        left = queue.pending_count()
    typer.echo(f"paused ({left} pending)")


@app.command("resume")
def resume(db: Optional[Path] = DbOption, repo: Optional[Path] = RepoOption) -> None:
    """Let queued items start again."""
    with _queue(db, repo) as queue:
        queue.resume()
        left = queue.pending_count()
    typer.echo(f"resumed ({left} pending)")


@app.command("run")
def run(
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None, dirty: DirtyOpt = None,
    permission_mode: PermissionOpt = None,
    max_items: Optional[int] = typer.Option(None, "--max-items", min=1, help="Stop after this many runs."),
    lease: float = typer.Option(300.0, "--lease", min=1.0,
                                help="Seconds an item stays claimed without renewal; a crashed drainer's "
                                     "item is taken again after this."),
    output_format: ListFormat = FormatOption, json_out: bool = JsonOption,
    db: DbOpt = None, repo: Optional[Path] = RepoOption,
) -> None:
    """Drain the queue headlessly: run each queued item as `agent run` would, in order, until the
    queue is empty or paused.

    Progress goes to stderr, one line per finished item to stdout. Several processes may drain
    one queue: each item runs once, and while another run holds the repository this one waits.
    A repeated item runs again until its repeats are used; a failed run ends its repeats.
    The run options are those of `agent run`.

    A refused API key pauses the queue at once; an overloaded or rate-limiting provider (429,
    503, 529) is waited out (its retry-after, else a growing wait) and the same item tried again,
    until `queue.overload_retries` attempts in a row met it: then the queue pauses. Either way the
    item stays queued and `agent queue list` shows why the queue paused.

    Exit codes: 0 every item done, 1 an item failed or the drain was interrupted, 2 usage error,
    3 the drain paused the queue because of the model provider. README: Exit codes.
    """
    options = RunOptions(provider=provider, model=model, small_model=small_model, base_url=base_url, replay=replay,
                         replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost,
                         dirty=dirty, permission_mode=permission_mode, db=db, repo=repo)
    as_json = _json(output_format, json_out)
    from once.cli.executor import stop_on_terminate

    with reported(), stop_on_terminate():  # SIGTERM stops the drain like Ctrl-C: the item goes back
        report = _drain(options, lease=lease, max_items=max_items, as_json=as_json)
    if as_json:
        print_json({"stopped": report.stopped, "reason": report.reason or None, "items": [
            {**item.to_dict(), "outcome": attempt.outcome, "run_id": attempt.run_id, "detail": attempt.detail}
            for item, attempt in report.finished]})
    elif report.reason:
        typer.echo(terminal_safe(paused_line(report.reason)), err=True)
    elif not report.finished:
        typer.echo(f"nothing to run ({report.stopped})", err=True)
    raise typer.Exit(_exit_code(report))


def _exit_code(report: Any) -> int:
    from once.errors import EXIT_PROVIDER

    if report.reason and report.stopped == "paused":  # this drain paused it: the provider is down or refusing
        return EXIT_PROVIDER
    return 1 if report.failed or report.stopped == "cancelled" else 0


def _drain(options: RunOptions, *, lease: float, max_items: Optional[int], as_json: bool) -> Any:
    from once.cli.queue_run import build_runner, repo_free
    from once.ids import new_id
    from once.queue.backoff import RetryPolicy
    from once.queue.drain import drain
    from once.queue.store import PromptQueue
    from once.store import open_store
    from once.vcs import GitRepo

    git = open_repo(options.repo, OUTSIDE_HINT)
    db = str(options.db) if options.db else None
    # Two connections: the lease is renewed from a thread while the run writes on its own.
    with open_store(db) as run_store, open_store(db) as queue_store:
        queue = PromptQueue(queue_store.conn, str(git.root))
        runner = build_runner(options, git, run_store, progress=not as_json)

        def started(item: "QueueItem") -> None:
            if not as_json:
                typer.echo(terminal_safe(f"queue: running {item.id}: {' '.join(item.text.split())[:70]}"), err=True)

        def finished(item: "QueueItem", attempt: Any) -> None:
            if not as_json:
                typer.echo(terminal_safe(f"{attempt.outcome:<6} {item.id}  run {attempt.run_id or '-'}  "
                                         f"{' '.join(item.text.split())[:60]}"))

        def retrying(item: "QueueItem", attempt: Any, delay: float) -> None:
            if not as_json:
                typer.echo(terminal_safe(f"queue: {attempt.detail}; trying {item.id} again in {delay:.1f}s"), err=True)

        return drain(queue, runner, owner=f"{os.getpid()}:{new_id('d')}", lease_seconds=lease,
                     ready=lambda: repo_free(git), on_start=started, on_finish=finished, on_retry=retrying,
                     max_items=max_items, retry=RetryPolicy.from_settings(runner.settings))
