"""Typed events: every observable step of a run.

The same stream feeds the SQLite log, the terminal renderers, `--output-format
stream-json` and (later) the learning loop. Events are plain data: no IO here.

Every event class has a docstring: for one without, dataclasses builds one from the class's
signature when it is defined, a cost every run's start paid for each of them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, ClassVar

EVENT_TYPES: dict[str, type["Event"]] = {}


@dataclass(kw_only=True)
class Event:
    """Base of all events."""

    type: ClassVar[str] = "event"
    run_id: str
    """The run this event belongs to."""
    ts: float = field(default_factory=time.time)
    """Wall-clock time of the event, seconds since the epoch."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EVENT_TYPES[cls.type] = cls

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(kw_only=True)
class RunStarted(Event):
    """A run began: where, with what prompt, provider, model and permission mode."""

    type: ClassVar[str] = "run_started"
    session_id: str
    repo: str
    prompt: str
    mode: str
    provider: str
    model: str
    permission_mode: str = ""
    """plan, ask, auto-edit or full-auto."""


@dataclass(kw_only=True)
class UserMessage(Event):
    """The prompt the run was given."""

    type: ClassVar[str] = "user_message"
    text: str


@dataclass(kw_only=True)
class ModelRequest(Event):
    """A call to the model is about to be made."""

    type: ClassVar[str] = "model_request"
    turn: int
    model: str
    messages: int
    """How many messages the request carried."""


@dataclass(kw_only=True)
class ModelResponse(Event):
    """The model answered: its text, how many tool calls, tokens, cost and time."""

    type: ClassVar[str] = "model_response"
    turn: int
    model: str
    stop_reason: str | None
    text: str
    """The text blocks of the response, joined."""
    tool_calls: int
    usage: dict[str, int]
    cost_usd: float
    duration_ms: float


@dataclass(kw_only=True)
class ToolCall(Event):
    """The model called a tool, with this input."""

    type: ClassVar[str] = "tool_call"
    turn: int
    tool_use_id: str
    name: str
    input: dict[str, Any]


@dataclass(kw_only=True)
class ToolResult(Event):
    """What a tool call returned (as the log keeps it), and how long it took."""

    type: ClassVar[str] = "tool_result"
    turn: int
    tool_use_id: str
    name: str
    is_error: bool
    output: str
    duration_ms: float


@dataclass(kw_only=True)
class FileChanged(Event):
    """A file the turn changed on disk (by an edit or a command)."""

    type: ClassVar[str] = "file_changed"
    turn: int
    path: str
    action: str
    """"created" or "modified"."""


@dataclass(kw_only=True)
class CommitMade(Event):
    """A commit the run made: the agent's edits, or the user's changes saved first."""

    type: ClassVar[str] = "commit"
    turn: int
    sha: str
    subject: str
    files: list[str]
    kind: str = "agent"
    """"agent" for the agent's own edits, "wip" for the user's changes saved first."""


@dataclass(kw_only=True)
class RunFinished(Event):
    """The run ended: how, with what result, after how many turns, at what cost."""

    type: ClassVar[str] = "run_finished"
    status: str
    """done, incomplete, checks_failed, max_turns, max_cost, plan_incomplete, replay_mismatch,
    interrupted or error."""
    result: str
    turns: int
    usage: dict[str, int]
    cost_usd: float


@dataclass(kw_only=True)
class ErrorEvent(Event):
    """An error: one that stopped the run, or a model reply that could not be used."""

    type: ClassVar[str] = "error"
    kind: str
    message: str


@dataclass(kw_only=True)
class PermissionDecision(Event):
    """An edit, command, tool call or server start was allowed or refused, and why."""

    type: ClassVar[str] = "permission"
    kind: str
    """"edit", "command", "tool" (an MCP tool call) or "mcp_server" (a repository's server to start)."""
    subject: str
    decision: str
    """allow, deny, allow_once, allow_always or reject."""
    mode: str
    reason: str = ""


@dataclass(kw_only=True)
class SecretBlocked(Event):
    """A file kept out of a commit, or an edit refused, for the secrets in it."""

    type: ClassVar[str] = "secret_blocked"
    path: str
    kinds: list[str]
    lines: list[int]


@dataclass(kw_only=True)
class WarningEvent(Event):
    """A warning for the user."""

    type: ClassVar[str] = "warning"
    message: str
    """Something the user should know that did not stop the run (a bad SKILL.md, a truncated file)."""


@dataclass(kw_only=True)
class McpServerStatus(Event):
    """An MCP server started, could not start, was refused or died."""

    type: ClassVar[str] = "mcp_server"
    name: str
    status: str
    """started, failed (could not start), refused (a project's server not trusted) or died."""
    transport: str = ""
    """stdio or http."""
    tools: list[str] = field(default_factory=list)
    """The tools offered to the model, as it sees them (`mcp__NAME__TOOL`)."""
    message: str = ""


@dataclass(kw_only=True)
class Undone(Event):
    """Commits undone by `agent undo` or the app."""

    type: ClassVar[str] = "undo"
    shas: list[str]
    method: str
    """"reset" when history was rewritten, "revert" when new commits undid it."""
    reason: str = ""
    """Why the user undid it (`agent undo --reason`), a correction signal for learning."""


@dataclass(kw_only=True)
class AttemptDiscarded(Event):
    """A fresh attempt was started over, its commits undone."""

    type: ClassVar[str] = "attempt_discarded"
    attempt: int
    """The attempt given up (1 is the run's first)."""
    reason: str
    """What failed: the checks' summary, or the work that was missing."""
    shas: list[str]
    """Its commits, undone (the run's own, never the user's)."""
    method: str = ""
    """"reset" or "revert", as for `undo`; "" when it had no commits."""


@dataclass(kw_only=True)
class ContextLoaded(Event):
    """A file put in the model's context (knowledge, AGENTS.md, a skill, a plan)."""

    type: ClassVar[str] = "context_loaded"
    kind: str
    """workspace_knowledge, project_knowledge, agents_md, skill or plan."""
    path: str
    chars: int
    truncated: bool = False


@dataclass(kw_only=True)
class FilesSelected(Event):
    """The repository files picked for the first model call."""

    type: ClassVar[str] = "files_selected"
    files: list[str]
    """The files put in the first model call, best first."""
    candidates: int
    """How many ranked candidates stage one offered."""
    method: str
    """"bm25" (stage one alone) or "small_model" (stage two picked)."""


@dataclass(kw_only=True)
class TestResult(Event):
    """A check ran (tests, lint): passed or not, its counts and first error."""

    type: ClassVar[str] = "test_result"
    __test__ = False  # not a pytest test class
    turn: int
    check: str
    """The check's name, e.g. "pytest" or "lint"."""
    command: str
    passed: bool
    passed_count: int
    failed_count: int
    duration_ms: float
    signature: str
    """Normalized first error line ("" when passing): the learning loop groups by it."""
    summary: str


@dataclass(kw_only=True)
class PlanStep(Event):
    """A step of the plan being carried out started, was done or is blocked."""

    type: ClassVar[str] = "plan_step"
    step: int
    title: str
    status: str
    """started, done or blocked."""
    note: str = ""


@dataclass(kw_only=True)
class Compacted(Event):
    """The conversation was compacted to fit the context budget."""

    type: ClassVar[str] = "compaction"
    turn: int
    messages_before: int
    messages_after: int
    tokens_before: int
    tokens_after: int
    method: str
    """"small_model" or "truncate"."""


@dataclass(kw_only=True)
class Cancelled(Event):
    """The run was cancelled."""

    type: ClassVar[str] = "cancelled"
    reason: str
    """Who or what cancelled the run: "user" (Escape, Ctrl-C) or "signal"."""


@dataclass(kw_only=True)
class Feedback(Event):
    """The user rated a response."""

    type: ClassVar[str] = "feedback"
    rating: str
    """"up" or "down"."""
    comment: str = ""
    turn: int | None = None
    """The model turn rated; None means the run's last response."""
    model: str = ""
    source: str = "user"
    """"user" (TUI key, /good, /bad, `agent feedback`)."""


@dataclass(kw_only=True)
class CorrectionNote(Event):
    """A correction the user wrote down."""

    type: ClassVar[str] = "note"
    text: str
    """A correction in the user's words (`/note TEXT`); the corrections loop turns it into a proposal."""


@dataclass(kw_only=True)
class PlanDecision(Event):
    """The user approved or rejected a plan."""

    type: ClassVar[str] = "plan_decision"
    decision: str
    """"approved" or "rejected"."""
    reason: str = ""
    path: str = ""


@dataclass(kw_only=True)
class KnowledgeExposure(Event):
    """A learned entry retrieved for the prompt, and the arm it was drawn into."""

    type: ClassVar[str] = "knowledge"
    entry_id: str
    title: str
    arm: str
    """"injected" or "holdout" (retrieved, but deliberately not shown to the model)."""
    score: float
    status: str
    """The entry's status when retrieved: probation or active."""


@dataclass(kw_only=True)
class VentFiled(Event):
    """The agent reported a problem with its tools, docs or environment (`vent`)."""

    type: ClassVar[str] = "vent"
    category: str
    message: str
    tool: str = ""
    filed: bool = True
    """False when the rate limit refused it."""
    report_id: str = ""


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `to_dict()` output; unknown keys are ignored."""
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


EventSink = Callable[[Event], None]
