"""Rendering a `LearnReport` for a terminal (rich), with a small text chart per week."""

from __future__ import annotations

from typing import Any, Sequence

from once.learn.pipeline import LearnReport, WeekStat
from once.words import plural

_BAR = "▏▎▍▌▋▊▉█"
MAX_LIFTS = 15


def bar(fraction: float, width: int = 20) -> str:
    """A horizontal bar of `fraction` (0..1) of `width` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_BAR[rest - 1] if rest else "")


def week_lines(weeks: Sequence[WeekStat], width: int = 20) -> list[str]:
    """One line per week: the stuck rate as a bar, then the fixing-intent messages."""
    most = max((w.fixing for w in weeks), default=0) or 1
    lines = []
    for w in weeks:
        lines.append(f"{w.week}  {bar(w.stuck_rate, width):<{width}} {w.stuck_rate:4.0%} stuck ({w.stuck}/{w.sessions})"
                     f"  {bar(w.fixing / most, 10):<10} {w.fixing} fixing messages")
    return lines


def _pct(x: float) -> str:
    return f"{x * 100:+.0f}%"


def render(report: LearnReport, console: Any) -> None:
    """Print the report on a rich Console."""
    from rich.table import Table

    title = "agent learn" + (" (dry run: nothing was written)" if report.dry_run else "")
    console.print(f"[bold]{title}[/bold]")
    console.print(f"{plural(report.sessions, 'session')} scanned, {plural(report.signals, 'signal')}, "
                  f"{plural(report.episodes, 'stuck episode')} ({report.new_episodes} new, {report.resolved} resolved); "
                  f"{plural(report.outcomes, 'new outcome')}")
    console.print(f"entries written by: {report.extraction}", style="dim")
    if report.team:
        console.print(f"team: {report.team}", style="dim", highlight=False)
    counts = [("added", len(report.added)), ("merged", len(report.merged)),
              ("not admitted", len(report.not_admitted)), ("promoted", len(report.moved("promote"))),
              ("demoted", len(report.moved("demote")) + len(report.moved("probation"))),
              ("restored", len(report.moved("restore"))),
              ("pruned", len(report.moved("prune"))), ("version change", len(report.moved("version_change"))),
              ("decayed", len(report.moved("decay"))), ("conflicts", len(report.conflicts))]
    console.print("  ".join(f"{name}: [bold]{n}[/bold]" for name, n in counts), highlight=False)
    _entries(console, "Added", report.added)
    _entries(console, "Merged into existing entries", report.merged)
    _entries(console, "Not admitted (stay candidates)", report.not_admitted)
    from rich.markup import escape

    for text in report.conflicts:
        console.print(f"[yellow]conflict[/yellow] {escape(text)}", markup=True, highlight=False)
    if report.moves:
        table = Table(title="Status moves", title_justify="left", show_edge=False)
        for col in ("entry", "move", "why"):
            table.add_column(col, overflow="fold")
        for d in report.moves:
            table.add_row(d.entry_id, f"{d.from_status} -> {d.to_status}", d.reason)
        console.print(table)
    _entries(console, "Ready to become a skill (benefit established)", report.skill_ready)
    _proposals(console, report)
    if report.weeks:
        console.print("[bold]Per week[/bold]: stuck rate, fixing-intent messages")
        for line in week_lines(report.weeks):
            console.print(line, highlight=False, markup=False)
    _lifts(console, report)


def _proposals(console: Any, report: LearnReport) -> None:
    """The corrections scan and the skill proposals: what people said, and what is now awaiting approval."""
    c = report.corrections
    verb = "would make" if report.dry_run else "made"
    console.print(f"Corrections: {c.corrections} in {plural(c.repos, 'repository')}, "
                  f"{plural(c.proposed, 'new proposal')} ({c.applied} applied at once); "
                  f"{verb} {plural(report.proposals_made, 'proposal')} in all",
                  markup=False, highlight=False)
    for text in c.errors:
        console.print(f"  could not scan {text}", markup=False, highlight=False)
    _entries(console, "Skill proposals", report.skill_proposals)


def _entries(console: Any, heading: str, lines: Sequence[Any]) -> None:
    if not lines:
        return
    console.print(f"[bold]{heading}[/bold]")
    for line in lines:
        detail = f" — {line.detail}" if line.detail else ""
        console.print(f"  {line.entry_id}  {line.title} [{line.status}]{detail}", markup=False, highlight=False)


def _lifts(console: Any, report: LearnReport) -> None:
    from rich.table import Table

    if not report.lifts:
        return
    shown = sorted(report.lifts, key=lambda l: -l.evaluation.n)[:MAX_LIFTS]
    table = Table(title="Measured lift (injected minus holdout success rate, 90% credible interval)",
                  title_justify="left", show_edge=False)
    for col in ("entry", "status", "lift", "interval", "P(beats)", "injected", "held out", "title"):
        table.add_column(col, overflow="fold")
    for line in shown:
        ev = line.evaluation
        table.add_row(line.entry_id, line.status, _pct(ev.lift), f"[{_pct(ev.lift_lo)}, {_pct(ev.lift_hi)}]",
                      f"{ev.p_beats:.2f}", f"{ev.s_injected}/{ev.n_injected}", f"{ev.s_holdout}/{ev.n_holdout}",
                      line.title)
    console.print(table)
    if len(report.lifts) > MAX_LIFTS:
        console.print(f"({plural(len(report.lifts) - MAX_LIFTS, 'more entry', 'more entries')} with exposures; "
                      "see --json)")
