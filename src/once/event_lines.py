"""One line of text per stored event worth showing: `agent log RUN` and the app's run view."""

from __future__ import annotations

from typing import Any, Callable
from once.words import plural, status_words


def _short(text: str, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def _model_line(e: dict[str, Any]) -> str:
    return (f"model  turn {e['turn']}  {e.get('stop_reason')} {e.get('duration_ms', 0) / 1000:.1f}s  "
            f"{_short(e.get('text') or '', 90)}")


def _result_line(e: dict[str, Any]) -> str:
    first = (e.get("output") or "").strip().splitlines()[:1]
    status = "error" if e.get("is_error") else "ok"
    took = f"{e.get('duration_ms', 0):.0f}ms"
    return f"  ->   {status} {took:>7}  {_short(first[0], 80) if first else ''}"


def _tool_line(e: dict[str, Any]) -> str:
    from once.cli.render import describe_tool_call

    return f"tool   {describe_tool_call(e['name'], e.get('input') or {})}"


def _vent_line(e: dict[str, Any]) -> str:
    filed = f"filed {e.get('report_id', '')}" if e.get("filed") else "not filed (rate limit)"
    return f"vent   {e['category']} {filed}: {_short(e['message'], 70)}"


def _undo_line(e: dict[str, Any]) -> str:
    reason = f"  reason: {_short(e['reason'], 60)}" if e.get("reason") else ""
    return f"undo   {', '.join(sha[:8] for sha in e.get('shas') or [])} ({e.get('method', '')}){reason}"


def _feedback_line(e: dict[str, Any]) -> str:
    comment = f": {_short(e['comment'], 70)}" if e.get("comment") else ""
    return f"rated  {'👍 up' if e['rating'] == 'up' else '👎 down'}{comment}"


_LINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "model_response": _model_line,
    "tool_call": _tool_line,
    "tool_result": _result_line,
    "commit": lambda e: f"commit {e['sha'][:8]}  {e['subject']}  ({', '.join(e['files'])})",
    "secret_blocked": lambda e: f"secret blocked in {e['path']} ({', '.join(e['kinds'])})",
    "vent": _vent_line,
    "permission": lambda e: f"permit {e['kind']} {e['decision']} ({e['mode']}): {e['subject'][:70]}",
    "test_result": lambda e: f"check  {e['check']} {'passed' if e['passed'] else 'FAILED'}  {e['summary'][:80]}",
    "plan_step": lambda e: f"step   {e['step']} {e['status']}  {e['title'][:70]}",
    "plan_decision": lambda e: f"plan   {e['decision']}" + (f": {_short(e['reason'], 70)}" if e.get("reason") else ""),
    "files_selected": lambda e: f"files  {', '.join(e['files'][:6])}  ({e['method']})",
    "context_loaded": lambda e: f"context {e['kind']} {e['path']}",
    "knowledge": lambda e: f"learned {e['arm']} {e['entry_id']} ({e['score']:.2f}) {_short(e['title'], 60)}",
    "compaction": lambda e: f"compact {e['tokens_before']} -> {e['tokens_after']} tokens ({e['method']})",
    "feedback": _feedback_line,
    "note": lambda e: f"note   {_short(e['text'], 80)}",
    "cancelled": lambda e: f"cancel by the {e['reason']}",
    "undo": _undo_line,
    "error": lambda e: f"error  {e.get('message')}",
    "warning": lambda e: f"warning {e.get('message')}",
    "mcp_server": lambda e: f"mcp    {e['name']} {e['status']}" + (f" ({plural(len(e.get('tools') or []), 'tool')})"
                                                                   if e["status"] == "started" else ""),
    "run_finished": lambda e: f"end    {status_words(e['status'])}",
}


def event_line(event: dict[str, Any]) -> str | None:
    """One line of `agent log RUN` for the steps worth showing; None for the rest."""
    line = _LINES.get(event["type"])
    return line(event) if line else None
