"""The eval report reads like a sentence: `1 turn`, and no `$0.0000` for a price nobody knows."""

from __future__ import annotations

from once.evals.report import build_report, render_text
from once.evals.runner import Step, StepResult, TaskRun


def _run(task: str, turns: int, cost: float) -> TaskRun:
    step = StepResult(Step("run", "go", False), 0, "done", "r1", turns=turns, input_tokens=100, output_tokens=20,
                      cost_usd=cost, seconds=1.0)
    return TaskRun(task, "once", 0, [step], check_passed=True, kind="pass")


def test_one_turn_and_an_unknown_price_are_said_in_words() -> None:
    text = render_text(build_report([_run("a", 1, 0.0)], ["once"]))
    assert "median 1 turn," in text and "cost unknown" in text and "$0.0000" not in text


def test_several_turns_and_a_known_price() -> None:
    text = render_text(build_report([_run("a", 2, 0.01), _run("b", 4, 0.02)], ["once"]))
    assert "median 3 turns," in text and "$0.0300" in text
