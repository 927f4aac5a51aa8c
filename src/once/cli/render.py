"""Headless renderers: progress lines on stderr, and JSON lines for `stream-json`."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from once.events import (
    CommitMade,
    ErrorEvent,
    Event,
    ModelResponse,
    PermissionDecision,
    RunFinished,
    RunStarted,
    SecretBlocked,
    ToolCall,
    ToolResult,
    WarningEvent,
    AttemptDiscarded,
)
from once.agent.attempts import describe_discarded
from once.cli.common import terminal_safe
from once.safety.redact import redact_obj
from once.words import cost_text, plural, status_words

# The input field that best names what a tool call is about.
_TOOL_SUBJECT = {"list_files": "path", "read_file": "path", "search": "pattern", "edit_file": "path",
                 "write_file": "path", "run_command": "command", "vent": "message"}


def _one_line(text: str, width: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def describe_tool_call(name: str, tool_input: dict[str, Any]) -> str:
    key = _TOOL_SUBJECT.get(name)
    subject = tool_input.get(key) if key else None
    if name == "list_files" and not subject:
        subject = tool_input.get("pattern") or "."
    if name.startswith("mcp__") and tool_input:  # an MCP tool: its input, briefly
        subject = json.dumps(tool_input, ensure_ascii=False)
    return f"{name} {_one_line(str(subject), 80)}" if subject else name


class ProgressRenderer:
    """Human progress for `--output-format text`, written to stderr.

    `errors_reported`: the caller prints the error that ends a run (with its hint) once the run
    has stopped, so the renderer leaves that one out instead of printing it twice.
    """

    def __init__(self, stream: IO[str] | None = None, *, errors_reported: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.color = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.errors_reported = errors_reported
        self.pending_error: ErrorEvent | None = None
        self.provider = ""

    def _style(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _print(self, text: str) -> None:
        print(terminal_safe(text), file=self.stream, flush=True)

    def __call__(self, event: Event) -> None:
        if self.errors_reported and self._held(event):
            return
        self._show(event)

    def _held(self, event: Event) -> bool:
        """Hold an error until the next event says whether it ended the run (then the caller
        reports it) or the run went on (a reply the model is asked to send again)."""
        pending, self.pending_error = self.pending_error, None
        if isinstance(event, ErrorEvent):
            if pending is not None:
                self._show(pending)
            self.pending_error = event
            return True
        # A run that an error stopped finishes with that error's message as its result.
        if pending is not None and not (isinstance(event, RunFinished) and event.result == pending.message):
            self._show(pending)
        return False

    def _show(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.provider = event.provider
            mode = f" · {event.permission_mode}" if event.permission_mode else ""
            self._print(self._style("1", f"once · run {event.run_id} · {event.provider}/{event.model}{mode}"))
        elif isinstance(event, ModelResponse) and event.tool_calls and event.text.strip():
            self._print(self._style("2", _one_line(event.text, 120)))
        elif isinstance(event, ToolCall):
            self._print(f"  ▸ {describe_tool_call(event.name, event.input)}")
        elif isinstance(event, ToolResult) and event.is_error:
            self._print(self._style("33", f"    ✗ {_one_line(event.output, 110)}"))
        elif isinstance(event, CommitMade):
            label = "saved your changes" if event.kind == "wip" else "commit"
            self._print(self._style("32", f"  ● {label} {event.sha[:8]} {event.subject}"))
        elif isinstance(event, ErrorEvent):
            self._print(self._style("31", f"  error: {event.message}"))
        elif isinstance(event, PermissionDecision) and event.decision in ("deny", "reject"):
            self._print(self._style("33", f"    refused {event.kind}: {_one_line(event.reason or event.subject, 100)}"))
        elif isinstance(event, SecretBlocked):
            self._print(self._style("31", f"    blocked a secret ({', '.join(event.kinds)}) in {event.path}"))
        elif isinstance(event, WarningEvent):
            self._print(self._style("33", f"  warning: {event.message}"))
        elif isinstance(event, AttemptDiscarded):
            self._print(self._style("33", f"  ↺ {describe_discarded(event)}"))
        elif isinstance(event, RunFinished):
            usage = event.usage
            self._print(self._style("1", (
                f"{status_words(event.status)} after {plural(event.turns, 'turn')} · "
                f"{_tokens(usage.get('input_tokens', 0))} in / {_tokens(usage.get('output_tokens', 0))} out · "
                f"{cost_text(event.cost_usd, provider=self.provider)}")))


def _tokens(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


class JsonLinesRenderer:
    """`--output-format stream-json`: every event as one JSON object per line on stdout."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(redact_obj(event.to_dict()), ensure_ascii=False) + "\n")
        self.stream.flush()
