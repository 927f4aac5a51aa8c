"""The approval dialog: the diff or exact command, then allow once / allow always / reject."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from once.agent.approvals import Answer, ApprovalRequest, Decision
from once.tui.allowances import scope_of


_TITLES = {"edit": "Edit", "command": "Run command", "tool": "Call MCP tool", "mcp_server": "Start MCP server"}


class ApprovalScreen(ModalScreen[Answer]):
    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen > Vertical { width: 90%; height: 80%; border: thick $warning; background: $surface;
                                padding: 0 1; }
    ApprovalScreen .title { text-style: bold; }
    ApprovalScreen VerticalScroll { height: 1fr; }
    ApprovalScreen Horizontal { height: auto; }
    ApprovalScreen Button { margin: 0 1 0 0; }
    """
    BINDINGS = [Binding("escape", "reject", "Reject"), Binding("y", "answer('allow_once')", "Allow once"),
                Binding("a", "answer('allow_always')", "Allow always"), Binding("n", "answer('reject')", "Reject")]
    """Single keys while a button has the focus; in the reason field they are text."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        what = _TITLES.get(self.request.kind, "Run command")
        with Vertical():
            yield Static(f"{what}: {self.request.subject}", classes="title", markup=False)
            with VerticalScroll():
                yield Static(self._detail(), id="detail", markup=False)
            yield Input(placeholder="reason (optional, recorded when rejecting)", id="reason")
            with Horizontal():
                yield Button("Allow once (y)", id="allow_once", variant="success")
                yield Button("Allow always (a)", id="allow_always", variant="primary")
                yield Button("Reject (n)", id="reject", variant="error")

    def on_mount(self) -> None:
        self.query_one("#allow_once", Button).focus()

    def _detail(self) -> str:
        always = f"Allow always (a) allows {scope_of(self.request)}"
        if self.request.kind == "edit":
            return f"{self.request.detail or '(no textual change)'}\n\n{always}."
        if self.request.kind in ("tool", "mcp_server"):
            return self.request.detail
        rules = "\n".join(f"  {rule}" for rule in self.request.rules)
        extra = f"\n\n{always}:\n{rules}" if rules else ""
        return f"$ {self.request.subject}\n\n{self.request.detail}{extra}"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        reason = self.query_one("#reason", Input).value.strip()
        self.dismiss(Answer(Decision(event.button.id), reason))

    def action_answer(self, decision: str) -> None:
        self.dismiss(Answer(Decision(decision), self.query_one("#reason", Input).value.strip()))

    def action_reject(self) -> None:
        self.dismiss(Answer(Decision.reject, self.query_one("#reason", Input).value.strip()))
