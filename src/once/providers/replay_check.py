"""Whether a replayed run still follows its recording.

A cassette recorded with `--record` keeps, beside each response, what the request it answered
carried (`"requests"`, see `digest`), tool results with their error flag included. A replay whose
tool calls fail where the recorded ones succeeded (or the other way round) runs in a repository
the recording does not fit: the recorded answers no longer answer what happened. A tool error
that the recording also had is the same run. Hand-written cassettes keep no requests: only
their length can be compared.
"""

from __future__ import annotations

from typing import Any

from once.providers.base import ModelRequest

_RESULT, _ERROR = "tool_result", "tool_result (error)"


def recorded_outcomes(record: dict[str, Any]) -> list[bool]:
    """The error flag of each tool result a recorded request carried."""
    lines = [line for line in record.get("new", []) if isinstance(line, str) and line.startswith(_RESULT)]
    return [line.startswith(_ERROR) for line in lines]


def tool_results(request: ModelRequest) -> list[dict[str, Any]]:
    """The tool results in the request's last message (what the previous turn's calls gave)."""
    last = request.messages[-1] if request.messages else {}
    content = last.get("content") if last.get("role") == "user" else None
    return [b for b in content if isinstance(b, dict) and b.get("type") == _RESULT] if isinstance(content, list) else []


def outcome_mismatch(record: dict[str, Any], request: ModelRequest, previous: dict[str, Any] | None) -> str | None:
    """How this request's tool results differ from the recorded ones in failing or not; None if alike.

    `previous` is the recorded response whose tool calls these results answer (for their names).
    """
    was, results = recorded_outcomes(record), tool_results(request)
    now = [bool(block.get("is_error")) for block in results]
    if was == now:
        return None
    if len(was) != len(now):
        return f"{len(now)} tool results here, {len(was)} when recorded"
    index = next(i for i, (before, after) in enumerate(zip(was, now)) if before != after)
    name = _tool_names(previous).get(results[index].get("tool_use_id"), "a tool call")
    if now[index]:
        return f"{name} failed here and succeeded when recorded: {_first_line(results[index].get('content'))}"
    return f"{name} succeeded here and failed when recorded"


def _tool_names(response: dict[str, Any] | None) -> dict[Any, str]:
    blocks = (response or {}).get("content") or []
    return {b.get("id"): str(b.get("name")) for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"}


def _first_line(content: Any) -> str:
    if isinstance(content, list):
        content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    line = (str(content or "").strip().splitlines() or [""])[0]
    return line if len(line) <= 160 else line[:159] + "…"
