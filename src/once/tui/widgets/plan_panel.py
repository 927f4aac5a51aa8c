"""The Plan tab: the plan to review, editable in place, approve / reject / edit in $EDITOR, step progress."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static, TextArea

from once.events import PlanStep
from once.words import step_words

STEP_MARKS = {"started": "▶", "done": "✓", "blocked": "✗", "not_done": "·"}


class PlanPanel(Vertical):
    DEFAULT_CSS = """
    PlanPanel { height: 1fr; }
    PlanPanel #plan-title { text-style: bold; height: auto; }
    PlanPanel TextArea { height: 1fr; }
    PlanPanel #plan-steps { height: auto; max-height: 10; }
    PlanPanel Horizontal { height: auto; }
    PlanPanel Button { min-width: 8; margin: 0 1 0 0; }
    """

    @dataclass
    class Approve(Message):
        text: str
        """The plan as it stands in the editor (the user's edits included)."""

    @dataclass
    class Reject(Message):
        pass

    @dataclass
    class EditExternally(Message):
        text: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_id: str | None = None
        """The plan-mode run that wrote the plan under review."""
        self.steps: dict[int, tuple[str, str]] = {}

    def compose(self) -> ComposeResult:
        yield Static("No plan yet: switch to Plan mode (shift+tab) and describe the task.", id="plan-title")
        yield TextArea("", id="plan-text", soft_wrap=True)
        yield Static("", id="plan-steps", markup=False)
        with Horizontal():
            yield Button("Approve", id="plan-approve", variant="success", disabled=True)
            yield Button("Reject", id="plan-reject", variant="error", disabled=True)
            yield Button("$EDITOR", id="plan-editor", disabled=True)

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def show_plan(self, text: str, run_id: str | None) -> None:
        self.run_id = run_id
        self.steps = {}
        self.query_one(TextArea).load_text(text)
        self.query_one("#plan-title", Static).update("Plan to review: edit it here, then approve or reject.")
        self.query_one("#plan-steps", Static).update("")
        self.set_pending(bool(text.strip()))

    def set_pending(self, pending: bool) -> None:
        """Buttons work while a plan waits for a decision."""
        for button in self.query(Button):
            button.disabled = not pending

    def step(self, event: PlanStep) -> None:
        self.steps[event.step] = (event.title, event.status)
        lines = [f"{STEP_MARKS.get(status, '?')} {number}. {title} ({step_words(status)})"
                 for number, (title, status) in sorted(self.steps.items())]
        self.query_one("#plan-steps", Static).update("\n".join(lines))

    def step_lines(self) -> list[str]:
        return str(self.query_one("#plan-steps", Static).content).splitlines()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "plan-approve":
            self.post_message(self.Approve(self.text))
        elif event.button.id == "plan-reject":
            self.post_message(self.Reject())
        elif event.button.id == "plan-editor":
            self.post_message(self.EditExternally(self.text))
