"""An approval in the conversation: the diff or exact command, then y / a / n.

It takes the focus while it waits. `n` opens a one-line reason (enter sends it, esc sends none).
Once answered it collapses to one line saying what was decided, and posts `Answered`; the app
hands the answer to the waiting run. Escape outside the reason field is the app's (cancel the run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.tui.allowances import scope_of

if TYPE_CHECKING:
    from rich.console import RenderableType

QUESTIONS = {"edit": "Allow this edit to {}?", "command": "Allow this command?",
             "tool": "Allow this call to the MCP tool {}?", "mcp_server": "Start the MCP server {}?"}
REASON_HINT = "why not? (optional)"
REASON_LABEL = "n  reject: type why (optional), enter sends it, esc sends no reason"
NOT_RUN = "The command was not run."


def always_words(request: ApprovalRequest) -> tuple[str, str]:
    """"a" as offered and as recorded: for this app session, except a server start (trusted in the user's config)."""
    if request.kind == "mcp_server":
        return "allow always", "allowed always"
    return "allow for this session", "allowed for this session"


def choices(request: ApprovalRequest) -> list[tuple[str, str]]:
    """The keys offered, each with what it does: "a" only when it allows more than this once."""
    scope = scope_of(request)
    always = [("a", f"{always_words(request)[0]}: {scope}")] if scope else []
    return [("y", "allow once"), *always, ("n", "reject (you can say why)")]


def record(request: ApprovalRequest, answer: Answer) -> str:
    """The one line an answered approval leaves in the conversation."""
    if answer.decision is Decision.allow_once:
        said = "✓ allowed once"
    elif answer.decision is Decision.allow_always:
        said = f"✓ {always_words(request)[1]}: {scope_of(request)}"
    else:
        said = f"✗ rejected: {answer.reason}" if answer.reason else "✗ rejected (no reason given)"
    if request.kind == "mcp_server" and request.subject not in said:  # no tool line above it says which
        said += f" (MCP server {request.subject})"
    return said


def detail(request: ApprovalRequest) -> RenderableType:
    if request.kind == "edit":
        from rich.syntax import Syntax  # pygments: loaded with the first diff, not at start

        return Syntax(request.detail.rstrip("\n") or "(no textual change)", "diff", theme="ansi_dark", word_wrap=True)
    if request.kind == "command":  # the gate's explanation opens with what the model is told; not asked here
        why = request.detail.removeprefix(NOT_RUN).strip()
        return f"$ {request.subject}\n\n{why}"
    return request.detail.rstrip()


ARM_DELAY = 0.4
"""Seconds after it appears before an approval takes single-key answers."""


class ApprovalPrompt(Vertical, can_focus=True):
    DEFAULT_CSS = """
    ApprovalPrompt { height: auto; margin: 0 0 0 4; padding: 0 1; border-left: thick $warning 40%;
                     background: $warning 8%; }
    ApprovalPrompt:focus-within { border-left: thick $warning; }
    ApprovalPrompt .approval-question { text-style: bold; }
    ApprovalPrompt #approval-choices { height: auto; margin: 1 0 0 0; }
    ApprovalPrompt .approval-choice { height: auto; }
    ApprovalPrompt .approval-key { width: 3; text-style: bold; color: $text-warning; }
    ApprovalPrompt .approval-does { width: 1fr; }
    ApprovalPrompt #approval-reason { display: none; height: auto; margin: 1 0 0 0; }
    ApprovalPrompt.-reason #approval-reason { display: block; }
    ApprovalPrompt #approval-reason Static { color: $text-warning; }
    ApprovalPrompt.-reason #approval-choices { display: none; }
    ApprovalPrompt.-decided { border-left: none; background: transparent; padding: 0; color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer('allow_once')", "Allow once"),
        Binding("a", "answer('allow_always')", "Allow always"),
        Binding("n", "ask_reason", "Reject"),
        Binding("escape", "reject_without_reason", "Reject, no reason", show=False),
    ]

    @dataclass
    class Answered(Message):
        prompt: ApprovalPrompt
        answer: Answer

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self.answer: Answer | None = None
        self.said = ""
        """The record line, once answered."""
        self.armed_at = time.monotonic() + ARM_DELAY

    @property
    def armed(self) -> bool:
        """Keys answer only a moment after the question appears: the "y" of a word being typed
        into the prompt when it popped up must not allow anything."""
        return time.monotonic() >= self.armed_at

    def compose(self) -> ComposeResult:
        yield Static(QUESTIONS.get(self.request.kind, "Allow {}?").format(self.request.subject),
                     classes="approval-question", markup=False)
        yield Static(detail(self.request), classes="approval-detail", markup=False)
        with Vertical(id="approval-choices"):
            for key, does in choices(self.request):
                with Horizontal(classes="approval-choice"):
                    yield Static(key, classes="approval-key", markup=False)
                    yield Static(does, classes="approval-does", markup=False)
        with Vertical(id="approval-reason"):
            yield Static(REASON_LABEL, markup=False)
            yield Input(placeholder=REASON_HINT, compact=True)

    @property
    def pending(self) -> bool:
        return self.answer is None

    @property
    def asking_reason(self) -> bool:
        return self.has_class("-reason")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Single keys while waiting; in the reason field letters are text and esc sends no reason
        (anywhere else esc goes on to the app, which cancels the run)."""
        if action == "reject_without_reason":
            return self.pending and self.asking_reason
        if action == "answer" and parameters == ("allow_always",) and not scope_of(self.request):
            return False  # nothing to allow beyond this once
        return self.pending and not self.asking_reason and self.armed

    def action_answer(self, decision: str) -> None:
        self.decide(Answer(Decision(decision)))

    def action_ask_reason(self) -> None:
        self.add_class("-reason")
        self.query_one(Input).focus()

    def action_reject_without_reason(self) -> None:
        self.decide(Answer(Decision.reject))

    @on(Input.Submitted)
    def send_reason(self, event: Input.Submitted) -> None:
        event.stop()  # a reason, not a prompt
        if self.pending:
            self.decide(Answer(Decision.reject, event.value.strip()))

    def decide(self, answer: Answer) -> None:
        self.close(answer, record(self.request, answer))
        self.post_message(self.Answered(self, answer))

    def close(self, answer: Answer, said: str) -> None:
        """Collapse to the record line (also when the run ended before anyone answered)."""
        if not self.pending:
            return
        self.answer, self.said = answer, said
        self.can_focus = False
        self.remove_class("-reason")
        self.add_class("-decided")
        self.remove_children()
        self.mount(Static(said, classes="approval-record", markup=False))
