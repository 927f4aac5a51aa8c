"""Plan mode's output file, and progress while an approved plan is carried out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from once.agent.plan import normalize_plan, parse_steps
from once.agent.recorder import Recorder
from once.agent.result import RunResult
from once.atomic import atomic_write_text
from once.events import PlanStep
from once.paths import data_dir, project_dir
from once.tools.plan_tool import PlanStepItem, PlanTracker


def write_plan(repo_root: Path, run_id: str, answer: str, title: str) -> tuple[Path, str]:
    """Write `.once/plan.md` (and a copy kept for this run); return its path and text."""
    text = normalize_plan(answer, title)
    path = project_dir(repo_root) / "plan.md"
    atomic_write_text(path, text)
    atomic_write_text(data_dir() / "plans" / f"{run_id}.md", text)
    return path, text


def finish_plan_run(result: RunResult, repo_root: Path, title: str) -> RunResult:
    """After a plan-mode run: the answer becomes the plan file."""
    if result.status != "done" or not result.result.strip():
        return result
    path, text = write_plan(repo_root, result.run_id, result.result, title)
    return replace(result, result=text, plan_path=str(path.relative_to(repo_root)))


class PlanProgress:
    """Tracks `update_plan` calls as `plan_step` events and reports what was left undone."""

    def __init__(self, plan_text: str, recorder: Recorder) -> None:
        self.recorder = recorder
        self.tracker = PlanTracker(parse_steps(plan_text), on_change=self._emit)

    def _emit(self, step: PlanStepItem, status: str, note: str) -> None:
        self.recorder.emit(PlanStep(run_id=self.recorder.run_id, step=step.number, title=step.title,
                                    status=status, note=note))

    def finish(self, result: RunResult) -> RunResult:
        """Steps not done are reported as events and in the result; they keep the run from "done"."""
        left = self.tracker.unfinished()
        if not left:
            return result
        lines = []
        for step, status in left:
            self._emit(step, "not_done", f"last status: {status}")
            lines.append(f"- step {step.number} ({status}): {step.title}")
        report = "Plan steps not done:\n" + "\n".join(lines)
        status = "plan_incomplete" if result.status == "done" else result.status
        return replace(result, status=status, result=f"{result.result}\n\n{report}".strip())
