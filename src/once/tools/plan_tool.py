"""`update_plan`: the model reports progress on an approved plan, step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from once.tools.base import Tool, ToolContext, ToolOutput

STATUSES = ("started", "done", "blocked")


@dataclass(frozen=True)
class PlanStepItem:
    number: int
    title: str


StepListener = Callable[[PlanStepItem, str, str], None]


@dataclass
class PlanTracker:
    """The steps of the plan being carried out and where each one stands."""

    steps: list[PlanStepItem]
    status: dict[int, str] = field(default_factory=dict)
    on_change: StepListener | None = None

    def update(self, number: int, status: str, note: str = "") -> str:
        step = next((s for s in self.steps if s.number == number), None)
        if step is None:
            numbers = ", ".join(str(s.number) for s in self.steps) or "none"
            raise ValueError(f"the plan has no step {number}; its steps are: {numbers}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        self.status[number] = status
        if self.on_change is not None:
            self.on_change(step, status, note)
        left = [s.number for s in self.steps if self.status.get(s.number) != "done"]
        return f"Step {number} is {status}. " + (f"Steps not done yet: {left}." if left else "All steps are done.")

    def unfinished(self) -> list[tuple[PlanStepItem, str]]:
        """Steps not marked done, with their last status ("not started" when never reported)."""
        return [(s, self.status.get(s.number, "not started")) for s in self.steps if self.status.get(s.number) != "done"]


def update_plan(ctx: ToolContext, step: int, status: str, note: str | None = None) -> ToolOutput:
    if ctx.plan is None:
        return ToolOutput("There is no plan being carried out in this run.", is_error=True)
    try:
        return ToolOutput(ctx.plan.update(step, status, note or ""))
    except ValueError as exc:
        return ToolOutput(f"update_plan: {exc}.", is_error=True)


def update_plan_tool() -> Tool:
    return Tool(
        name="update_plan",
        description=("Report progress on the approved plan: call it with status 'started' when you begin a "
                     "step, 'done' when it is finished, or 'blocked' with a note saying why it cannot be done."),
        input_schema={
            "type": "object",
            "properties": {
                "step": {"type": "integer", "description": "The step's number in the plan."},
                "status": {"type": "string", "enum": list(STATUSES)},
                "note": {"type": "string", "description": "What was done, or why the step is blocked."},
            },
            "required": ["step", "status"],
        },
        func=update_plan,
    )
