"""`agent vent`: Reports the agent filed about tools, docs or the environment in its way."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from once.cli.common import print_json, reported, terminal_safe
from once.words import plural

app = typer.Typer(
    help=("Reports the agent filed about tools, docs or the environment in its way.\n\n"
          "The agent calls its `vent` tool when a tool, documentation or the environment degrades its work. "
          "Reports of the same problem, however worded, form one group. List groups, look at one, watch "
          "daily counts for spikes, export a group as a bug report, and mark it dismissed or resolved."),
    no_args_is_help=True, add_completion=False,
)

DbOption = typer.Option(None, "--db", help="The SQLite file to read [$ONCE_DB].")
OutputOption = typer.Option("text", "--output", "-o", help="text or json.")
JsonOption = typer.Option(False, "--json", help="Same as -o json.")


def _out(text: str = "") -> None:
    print(terminal_safe(text))


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _wants_json(output: str, json_out: bool) -> bool:
    from once.errors import UsageError

    if output not in ("text", "json"):
        raise UsageError(f"unknown output format '{output}'", hint="Use -o text or -o json.")
    return json_out or output == "json"


@contextmanager
def _vents(db: Path | None) -> Iterator[Any]:
    """An open VentStore; pending webhook payloads are flushed first (each try is short)."""
    from once.store import open_store
    from once.vent.store import VentStore

    with open_store(str(db) if db else None) as store:
        _flush_webhook(store.conn)
        yield VentStore(store.conn)


def _flush_webhook(conn: Any) -> None:
    import time

    from once.config import load_settings
    from once.vent.webhook import RetryPolicy, deliver

    url = load_settings(None).vent.webhook  # user-only key: a project's config cannot set it
    if url:
        deliver(conn, url, within=0.0, policy=RetryPolicy(timeout=2.0), clock=time.time)


@app.command("list")
def list_groups(
    status: Optional[str] = typer.Option(None, "--status", help="Only groups with this status: open, dismissed, "
                                         "resolved or regressed."),
    output: str = OutputOption, json_out: bool = JsonOption, db: Optional[Path] = DbOption,
) -> None:
    """List report groups, most recently reported first.

    \b
    Examples:
      agent vent list
      agent vent list --status open -o json
    """
    from once.errors import UsageError
    from once.vent.store import STATUSES

    with reported():
        as_json = _wants_json(output, json_out)
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown status '{status}'", hint=f"One of: {', '.join(STATUSES)}.")
        with _vents(db) as vents:
            groups = vents.groups(status)
        if as_json:
            print_json([g.to_dict() for g in groups])
            return
        if not groups:
            _out("no vent reports" + (f" with status {status}" if status else "") + ": the agent has not "
                 "complained about its tools yet")
            return
        for g in groups:
            tool = f" [{g.tool}]" if g.tool else ""
            _out(f"{g.id}  {g.status:<9} {g.report_count:>3}x  last {_when(g.last_seen)}  "
                 f"{g.category}{tool}: {g.title[:70]}")


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="A group id (a unique prefix is enough) or a report id."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="How many of the latest reports to show."),
    output: str = OutputOption, json_out: bool = JsonOption, db: Optional[Path] = DbOption,
) -> None:
    """Show one group: its status and its latest reports with the context the agent attached."""
    with reported():
        as_json = _wants_json(output, json_out)
        with _vents(db) as vents:
            group = vents.group(ref)
            reports = vents.reports(group.id)[-limit:]
        if as_json:
            print_json({"group": group.to_dict(), "reports": [r.to_dict() for r in reports]})
            return
        _out(f"{group.id}  {group.status}  {plural(group.report_count, 'report')}  "
             f"{_when(group.first_seen)} .. {_when(group.last_seen)}")
        _out(f"{group.category}{' / ' + group.tool if group.tool else ''}: {group.title}")
        if group.status_reason:
            _out(f"status: {group.status_reason}")
        for r in reports:
            _out("")
            _out(f"{r.id}  {_when(r.ts)}  run {r.run_id}  {r.model}  once {r.tool_version}"
                 + ("  REGRESSION" if r.regression else ""))
            _out("  " + r.message.replace("\n", "\n  "))
            for call in r.context.get("recent_tool_calls", []):
                status = "error" if call.get("is_error") else "ok"
                _out(f"    turn {call.get('turn')} {call.get('tool')} -> {status}"
                     + (f": {' '.join(str(call['error']).split())[:100]}" if call.get("error") else ""))


@app.command("stats")
def stats(
    days: int = typer.Option(14, "--days", min=1, max=365, help="How many days to show, ending today (UTC)."),
    output: str = OutputOption, json_out: bool = JsonOption, db: Optional[Path] = DbOption,
) -> None:
    """Reports per group per day, with spikes flagged.

    A spike is a day whose count is improbably high for the group's own trailing 7-day mean
    (a one-sided Poisson test at p < 0.001, at least 3 reports, after 3 days of history).
    """
    import time

    from once.vent import spikes
    from once.vent.export import day_date
    from once.vent.webhook import outbox

    with reported():
        as_json = _wants_json(output, json_out)
        today = spikes.day_of(time.time())
        rows = []
        with _vents(db) as vents:
            for group in vents.groups():
                series = spikes.group_days(vents.report_times(group.id), today, days)
                rows.append((group, series))
            queued = outbox(vents.conn)
        rule = spikes.SpikeRule()
        dates = [day_date(day) for day in range(today - days + 1, today + 1)]
        if as_json:
            print_json({"test": spikes.TEST_NAME, "alpha": rule.alpha, "min_count": rule.min_count, "days": dates,
                        "groups": [{"id": g.id, "title": g.title, "status": g.status,
                                    "counts": [d.count for d in series],
                                    "spikes": [{"date": day_date(d.day), "count": d.count, "baseline": d.baseline,
                                                "p_value": d.p_value} for d in series if d.spike]}
                                   for g, series in rows],
                        "webhook": {"delivered": sum(1 for q in queued if q["delivered_at"]),
                                    "pending": sum(1 for q in queued if not q["delivered_at"] and not q["gave_up"]),
                                    "gave_up": sum(1 for q in queued if q["gave_up"])}})
            return
        _print_stats(rows, dates, rule)


def _print_stats(rows: list[tuple[Any, list[Any]]], dates: list[str], rule: Any) -> None:
    from once.vent import spikes
    from once.vent.export import day_date

    _out(f"reports per day, {dates[0]} .. {dates[-1]} (UTC); spike test: {spikes.TEST_NAME}, "
         f"p < {rule.alpha:g}, at least {rule.min_count} reports")
    if not rows:
        _out("no vent reports yet")
        return
    for group, series in rows:
        counts = " ".join(f"{d.count:>2}" + ("!" if d.spike else " ") for d in series)
        _out(f"{group.id}  {group.status:<9} {counts}  {group.title[:50]}")
        for d in series:
            if d.spike:
                _out(f"    SPIKE {day_date(d.day)}: {plural(d.count, 'report')} vs baseline {d.baseline:.2f}/day "
                     f"(p = {d.p_value:.2g})")


@app.command("export")
def export(
    ref: Optional[str] = typer.Argument(None, help="The group to export (omit with --all)."),
    all_groups: bool = typer.Option(False, "--all", help="Export every group that is not dismissed."),
    fmt: str = typer.Option("md", "--format", "-f", help="md (markdown for a person) or json."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    days: int = typer.Option(30, "--days", min=1, max=365, help="Days of timeline to include."),
    db: Optional[Path] = DbOption,
) -> None:
    """Write a bug report per group, with its evidence: what to attach to an issue about once.

    \b
    Examples:
      agent vent export vg-0kx3 > report.md
      agent vent export --all -f json --out vents.json
    """
    import platform
    import sys
    import time

    from once import __version__
    from once.atomic import atomic_write_text
    from once.errors import UsageError
    from once.vent import export as exporting
    from once.vent import spikes

    with reported():
        if fmt not in ("md", "json"):
            raise UsageError(f"unknown format '{fmt}'", hint="Use --format md or --format json.")
        if (ref is None) == (not all_groups):
            raise UsageError("name one group, or pass --all", hint="List groups with `agent vent list`.")
        env = {"once": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
        today = spikes.day_of(time.time())
        with _vents(db) as vents:
            groups = [vents.group(ref)] if ref else [g for g in vents.groups() if g.status != "dismissed"]
            docs = [exporting.bug_report(g, vents.reports(g.id),
                                         spikes.group_days(vents.report_times(g.id), today, days), env)
                    for g in groups]
        if fmt == "json":
            text = exporting.to_json(docs[0] if ref else docs)
        else:
            text = "\n---\n\n".join(exporting.to_markdown(d) for d in docs) or "No vent reports.\n"
        if out is None:
            print(text, end="")
        else:
            atomic_write_text(out, text)
            print(f"wrote {plural(len(docs), 'group')} to {out}")


@app.command("dismiss")
def dismiss(
    ref: str = typer.Argument(..., help="The group to dismiss."),
    reason: str = typer.Option("", "--reason", "-r", help="Why it is not a problem (kept with the group)."),
    db: Optional[Path] = DbOption,
) -> None:
    """Mark a group as not a problem; later reports still join it, quietly."""
    with reported():
        with _vents(db) as vents:
            group = vents.dismiss(vents.group(ref).id, reason)
        print(f"{group.id} dismissed" + (f": {reason}" if reason else ""))


@app.command("resolve")
def resolve(
    ref: str = typer.Argument(..., help="The group that is fixed."),
    version: Optional[str] = typer.Option(None, "--version", help="The once version with the fix "
                                          "(default: this one). Reports from it or later are regressions."),
    reason: str = typer.Option("", "--reason", "-r", help="What fixed it."),
    db: Optional[Path] = DbOption,
) -> None:
    """Mark a group fixed in a version; a report of it from that version or later is flagged a regression."""
    import time

    from once import __version__

    with reported():
        with _vents(db) as vents:
            group = vents.resolve(vents.group(ref).id, version or __version__, time.time(), reason)
        print(f"{group.id} resolved in {group.fixed_in}")


@app.command("reopen")
def reopen(ref: str = typer.Argument(..., help="The group to open again."), db: Optional[Path] = DbOption) -> None:
    """Open a dismissed, resolved or regressed group again."""
    with reported():
        with _vents(db) as vents:
            group = vents.reopen(vents.group(ref).id)
        print(f"{group.id} open")
