"""A run's events as ACP `session/update` payloads. Pure: no IO, no clock.

Tool calls keep the model's tool_use id, so the client can pair a call with its result and
with a permission request made while it runs. Paths in locations and diffs are absolute, as
the protocol asks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from acp import plan_entry, start_tool_call, text_block, tool_content, tool_diff_content, update_plan, update_tool_call
from acp import update_agent_message_text, update_agent_thought_text
from acp.schema import PlanEntry, ToolCallLocation, ToolKind

from once.events import (
    CommitMade, ErrorEvent, Event, ModelRequest, ModelResponse, PlanStep, TestResult, ToolCall, ToolResult,
    WarningEvent,
)
from once.tools.plan_tool import PlanStepItem

Update = Any
"""One of the SDK's session update models (AgentMessageChunk, ToolCallStart, ...)."""

KINDS: dict[str, ToolKind] = {
    "read_file": "read", "list_files": "search", "search": "search", "edit_file": "edit", "write_file": "edit",
    "run_command": "execute", "update_plan": "think", "vent": "other",
}
EDIT_TOOLS = ("edit_file", "write_file")
MAX_OUTPUT_CHARS = 4000
"""Tool output shown in the client; the model saw all of it, the editor needs the gist."""
STEP_STATUS = {"started": "in_progress", "done": "completed"}
"""once's plan step statuses as ACP plan entry statuses; blocked and not_done stay pending."""


def tool_kind(name: str) -> ToolKind:
    return KINDS.get(name, "other")


def tool_title(name: str, args: dict[str, Any]) -> str:
    path = str(args.get("path") or "")
    if name == "read_file":
        return f"Read {path}" + (f" from line {args['offset']}" if args.get("offset") else "")
    if name == "list_files":
        return f"List {path or '.'}" + (f" ({args['pattern']})" if args.get("pattern") else "")
    if name == "search":
        return f"Search {args.get('pattern', '')!r}" + (f" in {path}" if path else "")
    if name in EDIT_TOOLS:
        return f"{'Edit' if name == 'edit_file' else 'Write'} {path}"
    if name == "run_command":
        command = str(args.get("command", ""))
        return f"Run `{command[:120]}{'…' if len(command) > 120 else ''}`"
    if name == "update_plan":
        return f"Plan step {args.get('step')}: {args.get('status')}"
    return name


def absolute(root: Path, path: str) -> str:
    return os.path.normpath(os.path.join(root, path))


def tool_locations(root: Path, name: str, args: dict[str, Any]) -> list[ToolCallLocation]:
    path = args.get("path")
    if not isinstance(path, str) or not path:
        return []
    line = args.get("offset") if name == "read_file" and isinstance(args.get("offset"), int) else None
    return [ToolCallLocation(path=absolute(root, path), line=line)]


def edit_diff(root: Path, name: str, args: dict[str, Any]) -> list[Any] | None:
    """What an edit changes, as a diff the editor can show (the snippet for edit_file)."""
    path = args.get("path")
    if name not in EDIT_TOOLS or not isinstance(path, str):
        return None
    if name == "write_file":
        return [tool_diff_content(absolute(root, path), str(args.get("content", "")))]
    return [tool_diff_content(absolute(root, path), str(args.get("new_string", "")), str(args.get("old_string", "")))]


def tool_started(root: Path, event: ToolCall) -> Update:
    return start_tool_call(event.tool_use_id, tool_title(event.name, event.input), kind=tool_kind(event.name),
                           status="in_progress", content=edit_diff(root, event.name, event.input),
                           locations=tool_locations(root, event.name, event.input), raw_input=event.input)


def output_content(output: str) -> list[Any]:
    shown = output if len(output) <= MAX_OUTPUT_CHARS else f"{output[:MAX_OUTPUT_CHARS]}\n… ({len(output)} chars)"
    return [tool_content(text_block(f"```\n{shown}\n```"))] if shown.strip() else []


def tool_finished(event: ToolResult) -> Update:
    # A landed edit keeps the diff it started with; anything else shows its output.
    keep_diff = event.name in EDIT_TOOLS and not event.is_error
    return update_tool_call(event.tool_use_id, status="failed" if event.is_error else "completed",
                            content=None if keep_diff else output_content(event.output))


def check_ran(event: TestResult) -> Update:
    """A check the run started by itself, shown as a finished command."""
    title = f"Check {event.check}: {'passed' if event.passed else 'failed'}"
    return start_tool_call(f"check-{event.turn}-{event.check}", title, kind="execute",
                           status="completed" if event.passed else "failed",
                           content=output_content(event.summary), raw_input={"command": event.command})


def plan_update(steps: list[PlanStepItem], statuses: dict[int, str]) -> Update:
    entries: list[PlanEntry] = [
        plan_entry(f"{step.number}. {step.title}", status=STEP_STATUS.get(statuses.get(step.number, ""), "pending"))
        for step in steps]
    return update_plan(entries)


class UpdateMapper:
    """Follows one prompt's events; says which updates each one becomes."""

    def __init__(self, root: Path, plan_steps: list[PlanStepItem] | None = None) -> None:
        self.root = root
        self.plan_steps = plan_steps or []
        self.step_status: dict[int, str] = {}
        self.streamed = False
        """Whether text arrived as deltas since the last model request."""
        self.last_text = ""
        self.tool_call_id: str | None = None
        """The tool call running now: a permission request refers to it."""

    def text(self, delta: str) -> list[Update]:
        self.streamed = True
        return [update_agent_message_text(delta)]

    def event(self, event: Event) -> list[Update]:
        if isinstance(event, ModelRequest):
            self.streamed = False
        elif isinstance(event, ModelResponse):
            self.last_text = event.text or self.last_text
            if event.text and not self.streamed:  # a provider that does not stream
                return [update_agent_message_text(event.text)]
        elif isinstance(event, ToolCall):
            self.tool_call_id = event.tool_use_id
            return [tool_started(self.root, event)]
        elif isinstance(event, ToolResult):
            self.tool_call_id = None
            return [tool_finished(event)]
        elif isinstance(event, TestResult):
            return [check_ran(event)]
        elif isinstance(event, PlanStep) and self.plan_steps:
            self.step_status[event.step] = event.status
            return [plan_update(self.plan_steps, self.step_status)]
        return self._notice(event)

    def _notice(self, event: Event) -> list[Update]:
        if isinstance(event, CommitMade) and event.kind == "agent":
            return [update_agent_message_text(f"\n\nCommitted {event.sha[:8]} {event.subject}\n\n")]
        if isinstance(event, CommitMade):
            return [update_agent_thought_text(f"Your uncommitted changes were saved first as {event.sha[:8]}.")]
        if isinstance(event, ErrorEvent):
            return [update_agent_message_text(f"\n\nerror: {event.message}\n")]
        if isinstance(event, WarningEvent):
            return [update_agent_thought_text(f"warning: {event.message}")]
        return []

    def plan_started(self) -> list[Update]:
        return [plan_update(self.plan_steps, self.step_status)] if self.plan_steps else []


def closing_text(result_text: str, last_text: str) -> str:
    """What the run's result adds after the model's last words (the checks' report, steps left)."""
    if last_text and result_text.startswith(last_text):
        return result_text[len(last_text):].strip()
    return ""
