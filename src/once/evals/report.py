"""The eval report: per task and in total, per arm, and arms paired by task (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Sequence

from once.evals.outcome import KINDS
from once.evals.runner import TaskRun
from once.evals.stats import median, paired_difference, wilson
from once.words import cost_text


def build_report(runs: Sequence[TaskRun], arms: Sequence[str]) -> dict[str, Any]:
    by_arm: dict[str, list[TaskRun]] = defaultdict(list)
    for run in runs:
        by_arm[run.arm].append(run)
    totals = {arm: _arm_total(by_arm.get(arm, [])) for arm in arms}
    tasks = sorted({run.task for run in runs})
    per_task = []
    for task in tasks:
        row: dict[str, Any] = {"task": task}
        for arm in arms:
            mine = [r for r in by_arm.get(arm, []) if r.task == task]
            row[arm] = {"passed": sum(r.passed for r in mine), "total": len(mine),
                        "kinds": dict(Counter(r.kind for r in mine if r.kind != "pass"))}
        per_task.append(row)
    comparisons = [
        paired_difference(arms[0], other, _task_rates(by_arm.get(arms[0], [])), _task_rates(by_arm.get(other, [])))
        .to_json() for other in arms[1:]
    ]
    return {"arms": list(arms), "totals": totals, "tasks": per_task, "comparisons": comparisons}


def _task_rates(runs: Sequence[TaskRun]) -> dict[str, float]:
    grouped: dict[str, list[bool]] = defaultdict(list)
    for run in runs:
        grouped[run.task].append(run.passed)
    return {task: sum(values) / len(values) for task, values in grouped.items()}


def _arm_total(runs: Sequence[TaskRun]) -> dict[str, Any]:
    rate = wilson(sum(r.passed for r in runs), len(runs))
    kinds = Counter(r.kind for r in runs)
    return {
        **rate.to_json(),
        "median_turns": median([float(r.turns) for r in runs]),
        "median_tokens": median([float(r.tokens) for r in runs]),
        "median_seconds": round(median([r.seconds for r in runs]), 2),
        "total_tokens": sum(r.tokens for r in runs),
        "cost_usd": round(sum(r.cost_usd for r in runs), 6),
        "kinds": {kind: kinds[kind] for kind in KINDS if kinds.get(kind)},
    }


def _cell(cell: dict[str, Any]) -> str:
    kinds = ", ".join(f"{kind}{'' if n == 1 else f' x{n}'}" for kind, n in sorted(cell["kinds"].items()))
    return f"{cell['passed']}/{cell['total']}" + (f" ({kinds})" if kinds else "")


def render_text(report: dict[str, Any]) -> str:
    """The report for a person: a line per task, then the totals and the comparisons."""
    arms: list[str] = report["arms"]
    cells = {row["task"]: [_cell(row[arm]) for arm in arms] for row in report["tasks"]}
    width = max([len("task"), *(len(task) for task in cells)])
    widths = [max([len(arm), *(len(row[i]) for row in cells.values())]) for i, arm in enumerate(arms)]
    lines = [f"{'task':<{width}}  " + "  ".join(f"{arm:<{w}}" for arm, w in zip(arms, widths))]
    for task, row in cells.items():
        lines.append(f"{task:<{width}}  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)).rstrip())
    lines.append("")
    for arm in arms:
        total = report["totals"][arm]
        kinds = ", ".join(f"{k} {n}" for k, n in total["kinds"].items() if k != "pass") or "none"
        lines.append(
            f"{arm}: passed {total['passed']}/{total['total']} = {total['rate']:.0%} "
            f"(95% CI {total['low']:.0%}-{total['high']:.0%}); median {total['median_turns']:g}"
            f" {'turn' if total['median_turns'] == 1 else 'turns'}, "
            f"{total['median_tokens']:,.0f} tokens, {total['median_seconds']:.1f} s; "
            f"{cost_text(total['cost_usd'])}; failures: {kinds}")
    for comparison in report["comparisons"]:
        lines.append(
            f"{comparison['a']} - {comparison['b']}: {comparison['difference']:+.0%} pass rate, paired over "
            f"{comparison['tasks']} tasks (95% CI {comparison['low']:+.0%} to {comparison['high']:+.0%}); "
            f"{comparison['a']} better on {comparison['a_better']}, {comparison['b']} on {comparison['b_better']}")
    return "\n".join(lines)
