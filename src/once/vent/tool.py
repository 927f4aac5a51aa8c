"""The `vent` tool: the agent reports a tool, doc or environment problem that is in its way.

A `Venter` is made per run: it watches the run's events (as a recorder sink) to know the
turn and the recent tool calls, enforces the rate limits, files the report with its
context and emits `VentFiled`. The model only ever sees a short answer.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from once import __version__
from once.events import Event, VentFiled
from once.safety.redact import redact
from once.tools.base import Tool, ToolContext, ToolOutput

CATEGORIES = ("missing_tool", "unclear_tool", "schema_mismatch", "docs_conflict", "broken_behavior",
              "environment_limit", "other")
MAX_MESSAGE = 4000
EXCERPT_CHARS = 400
CONTEXT_TURNS = 2

DESCRIPTION = (
    "Report a problem with your tools, documentation or environment to the people who maintain this agent. "
    "Use it only when one of them materially degrades your work: a missing or unsuitable tool, unclear tool "
    "names or parameters, a tool's input schema that does not match its behaviour, confusing or conflicting "
    "documentation, broken or unexpected tool behaviour, or repeated failures caused by the environment. "
    "Do not use it for your own mistakes, for problems in the user's code, or on every turn; at most one "
    "report per turn and a few per run are filed. The run id, model, tool version and your recent tool "
    "calls are attached automatically, so describe the problem itself: what you tried, what happened, what "
    "you expected. After reporting, carry on with the task as well as you can."
)


@dataclass
class RateLimit:
    """At most `per_turn` reports in one turn and `per_run` in the whole run."""

    per_turn: int = 1
    per_run: int = 3
    by_turn: dict[int, int] = field(default_factory=dict)

    def refusal(self, turn: int) -> str | None:
        """Why a report in `turn` would not be filed, or None when it may be."""
        if sum(self.by_turn.values()) >= self.per_run:
            return f"this run has already filed {self.per_run} reports, the most one run may file"
        if self.by_turn.get(turn, 0) >= self.per_turn:
            return f"a report was already filed this turn (at most {self.per_turn} per turn)"
        return None

    def record(self, turn: int) -> None:
        self.by_turn[turn] = self.by_turn.get(turn, 0) + 1


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit} more characters]"


def recent_context(events: list[dict[str, Any]], turn: int, turns: int = CONTEXT_TURNS) -> list[dict[str, Any]]:
    """The tool calls of the last `turns` turns with their outcome and, for errors, an excerpt.

    `events` are tool_call / tool_result dicts (`Event.to_dict()`); the vent call itself is left out.
    """
    calls: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("turn", 0) <= turn - turns or event.get("name") == "vent":
            continue
        use_id = event.get("tool_use_id", "")
        if event["type"] == "tool_call":
            calls[use_id] = {"turn": event["turn"], "tool": event["name"],
                             "input": _clip(json.dumps(event.get("input") or {}, ensure_ascii=False), 300)}
        elif event["type"] == "tool_result" and use_id in calls:
            calls[use_id]["is_error"] = bool(event.get("is_error"))
            if event.get("is_error"):
                calls[use_id]["error"] = _clip(str(event.get("output") or ""), EXCERPT_CHARS)
    return list(calls.values())


@dataclass
class RunInfo:
    run_id: str
    session_id: str = ""
    repo: str = ""
    model: str = ""
    mode: str = "agent"


FileFunc = Callable[[Any], Any]
"""Files a `NewReport` and returns a `Filed` (see once.vent.service)."""


class Venter:
    """One run's vent tool state: limits, the events seen so far, and where reports go."""

    def __init__(self, info: RunInfo, file_report: FileFunc, emit: Callable[[Event], None],
                 limit: RateLimit | None = None, clock: Callable[[], float] = time.time) -> None:
        self.info = info
        self.file_report = file_report
        self.emit = emit
        self.limit = limit or RateLimit()
        self.clock = clock
        self.turn = 0
        self.events: deque[dict[str, Any]] = deque(maxlen=60)

    def observe(self, event: Event) -> None:
        """A recorder sink: keeps the turn and the recent tool calls."""
        if event.type in ("tool_call", "tool_result"):
            data = event.to_dict()
            self.turn = max(self.turn, int(data.get("turn", 0)))
            self.events.append(data)

    def context(self) -> dict[str, Any]:
        return {"run_id": self.info.run_id, "session_id": self.info.session_id, "model": self.info.model,
                "tool_version": __version__, "mode": self.info.mode, "turn": self.turn,
                "recent_tool_calls": recent_context(list(self.events), self.turn)}

    def vent(self, category: str, message: str, tool: str = "") -> ToolOutput:
        if category not in CATEGORIES:
            return ToolOutput(f"vent: category must be one of {', '.join(CATEGORIES)}.", is_error=True)
        if not message.strip():
            return ToolOutput("vent: describe the problem in `message`.", is_error=True)
        message, tool = redact(_clip(message.strip(), MAX_MESSAGE)), redact(tool.strip())[:100]
        refusal = self.limit.refusal(self.turn)
        if refusal:
            self.emit(VentFiled(run_id=self.info.run_id, category=category, message=message, tool=tool, filed=False))
            return ToolOutput(f"Report not filed: {refusal}. Carry on with the task.")
        from once.vent.store import NewReport

        self.limit.record(self.turn)
        filed = self.file_report(NewReport(
            category=category, message=message, tool=tool, run_id=self.info.run_id, session_id=self.info.session_id,
            repo=self.info.repo, model=self.info.model, tool_version=__version__, context=self.context(),
            ts=self.clock()))
        self.emit(VentFiled(run_id=self.info.run_id, category=category, message=message, tool=tool, filed=True,
                            report_id=filed.report_id))
        known = "a new problem" if filed.new_group else "a problem reported before"
        return ToolOutput(f"Report {filed.report_id} filed ({known}, group {filed.group_id}). Thank you. "
                          "Carry on with the task, working around the problem if you can.")


def vent_tool(venter: Venter) -> Tool:
    def run(ctx: ToolContext, category: str, message: str, tool: str | None = None) -> ToolOutput:
        return venter.vent(category, message, tool or "")

    return Tool(
        name="vent",
        description=DESCRIPTION,
        input_schema={
            "type": "object",
            "properties": {
                "category": {"type": "string", "enum": list(CATEGORIES),
                             "description": "What kind of problem it is."},
                "message": {"type": "string",
                            "description": "The problem: what you tried, what happened, what you expected."},
                "tool": {"type": "string", "description": "The tool the problem is about, if any."},
            },
            "required": ["category", "message"],
        },
        func=run,
    )
