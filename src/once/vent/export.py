"""A vent group as a bug report a user can attach to an issue: JSON, or markdown a person reads.

Pure: the caller gathers the group, its reports, its daily counts and the environment.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Sequence

from once.vent.spikes import DAY, TEST_NAME, DayStat
from once.vent.store import Group, Report

SCHEMA = "once.vent.bug_report/1"
MAX_REPORTS = 20
"""Most reports (the latest) carried as evidence in one bug report."""


def day_date(day: int) -> str:
    return dt.datetime.fromtimestamp(day * DAY, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat(timespec="seconds")


def bug_report(group: Group, reports: Sequence[Report], days: Sequence[DayStat],
               environment: dict[str, str]) -> dict[str, Any]:
    """The JSON form: the group, the timeline with spikes, the latest reports and their context."""
    evidence = list(reports)[-MAX_REPORTS:]
    return {
        "schema": SCHEMA,
        "group": {
            "id": group.id, "title": group.title, "category": group.category, "tool": group.tool,
            "status": group.status, "status_reason": group.status_reason, "fixed_in": group.fixed_in,
            "report_count": group.report_count, "first_seen": _iso(group.first_seen),
            "last_seen": _iso(group.last_seen), "regressed_at": _iso(group.regressed_at),
        },
        "versions": sorted({r.tool_version for r in reports if r.tool_version}),
        "models": sorted({r.model for r in reports if r.model}),
        "timeline": {
            "test": TEST_NAME,
            "days": [{"date": day_date(d.day), "count": d.count, "baseline": round(d.baseline, 3),
                      "p_value": d.p_value, "spike": d.spike} for d in days],
        },
        "reports": [{
            "id": r.id, "ts": _iso(r.ts), "run_id": r.run_id, "model": r.model, "tool_version": r.tool_version,
            "category": r.category, "tool": r.tool, "message": r.message, "regression": r.regression,
            "recent_tool_calls": r.context.get("recent_tool_calls", []),
        } for r in evidence],
        "environment": dict(environment),
    }


def to_json(reports: Sequence[dict[str, Any]] | dict[str, Any]) -> str:
    return json.dumps(reports, indent=2, ensure_ascii=False) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    """Sections: Summary, Timeline, Reports (with the tool calls before each), Environment."""
    g = report["group"]
    lines = [f"# {g['title']}", "", "## Summary", "",
             f"- group: `{g['id']}` ({g['status']}{', fixed in ' + g['fixed_in'] if g['fixed_in'] else ''})",
             f"- category: {g['category']}" + (f", tool: `{g['tool']}`" if g["tool"] else ""),
             f"- reports: {g['report_count']}, first {g['first_seen']}, last {g['last_seen']}",
             f"- once versions: {', '.join(report['versions']) or '-'}; models: {', '.join(report['models']) or '-'}"]
    if g["status_reason"]:
        lines.append(f"- status: {g['status_reason']}")
    lines += ["", "## Timeline", "", f"Reports per day; spikes by the {report['timeline']['test']}.", "",
              "| date | reports | baseline | spike |", "|---|---|---|---|"]
    for day in report["timeline"]["days"]:
        if day["count"] or day["spike"]:
            lines.append(f"| {day['date']} | {day['count']} | {day['baseline']:.2f} | "
                         f"{'yes (p=%.2g)' % day['p_value'] if day['spike'] else ''} |")
    lines += ["", "## Reports", ""]
    for r in report["reports"]:
        flag = " (regression)" if r["regression"] else ""
        lines += [f"### {r['id']}{flag}", "", f"{r['ts']} · run `{r['run_id']}` · {r['model']} · "
                  f"once {r['tool_version']}", "", _quote(r["message"]), ""]
        for call in r["recent_tool_calls"]:
            status = "error" if call.get("is_error") else "ok"
            lines.append(f"- turn {call.get('turn')}: `{call.get('tool')}` {call.get('input', '')} -> {status}")
            if call.get("error"):
                lines.append("  ```\n  " + "\n  ".join(str(call["error"]).replace("```", "'''").splitlines())
                             + "\n  ```")
        lines.append("")
    lines += ["## Environment", ""] + [f"- {key}: {value}" for key, value in report["environment"].items()]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])
