"""The learning experiment: does a learned entry help a real model on the next task of its kind?

Task *families* share a project with a trap the model does not know (a house rule, a required
import, a custom check). Members of a family are run in order in one repository, as a user's
project would see them, all logging to one database:

1. a member's prompt runs; its first attempt passes or fails the hidden check;
2. after a failure the scripted user, in the same session (`--continue`), first says the check
   still fails (quoting it), then, if it still does, gives the family's correction; the check
   runs after each: the session got stuck and, with luck, unstuck (then the user says thanks);
3. after each round (member n of every family) `agent learn` runs on the database;
4. a later member's prompt retrieves the entry, and the holdout draw decides whether the
   model sees it. Its first attempt is the outcome, read against the arm the draw chose;
5. with `paired`, that member's first attempt also runs in the other arm, forced, on a twin:
   a copy of its repository and database taken before it ran, so the twin changes nothing
   the experiment later learns from. A deterministic local model (temperature 0) then gives
   each member's outcome with and without the entry, and the lift is measured on every
   member, not only on those the draw happened to hold out.

The figures are the pass rate of later members with an entry injected against held out (a
Newcombe interval for the difference) and, paired, the mean of (injected - held out) over
twinned members (Newcombe's interval for paired proportions). Nothing here decides "helps"
from text: only checks.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from once.evals.arms import Arm
from once.evals.runner import RunSetup, Step, TaskRun, run_in_repo, steps_for
from once.evals.stats import Rate, wilson
from once.evals.task import Task
from once.evals.workspace import REPO_NAME, git
from once.store import Store

Say = Callable[[str], None]
THANKS = "Thanks, that works now."
LEARN_TIMEOUT = 1800.0


@dataclass
class MemberRun:
    family: str
    order: int
    task: str
    round: int
    first: TaskRun
    corrected: TaskRun | None = None
    session_id: str = ""
    arm: str = "none"
    """injected, holdout, or none (no entry was retrieved for its prompt)."""
    entries: list[str] = field(default_factory=list)
    twin: TaskRun | None = None
    """The first attempt again in the other arm, on a copy taken before the member ran."""

    @property
    def twin_arm(self) -> str:
        return {"injected": "holdout", "holdout": "injected"}.get(self.arm, "none")

    def pair(self) -> tuple[bool, bool] | None:
        """(passed with the entry injected, passed with it held out), when twinned."""
        if self.twin is None or self.twin_arm == "none":
            return None
        mine, other = self.first.passed, self.twin.passed
        return (mine, other) if self.arm == "injected" else (other, mine)

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "order": self.order, "task": self.task, "round": self.round,
                "passed_first": self.first.passed, "kind": self.first.kind,
                "passed_after_correction": None if self.corrected is None else self.corrected.passed,
                "session_id": self.session_id, "arm": self.arm, "entries": self.entries,
                "turns": self.first.turns, "tokens": self.first.tokens, "seconds": round(self.first.seconds, 2),
                "twin": None if self.twin is None else {"arm": self.twin_arm, "passed_first": self.twin.passed,
                                                        "seconds": round(self.twin.seconds, 2)}}


def families_of(tasks: list[Task]) -> dict[str, list[Task]]:
    """Family name -> members in order; a suite without families is refused by the caller."""
    grouped: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        if task.family is not None:
            grouped[task.family.name].append(task)
    return {name: sorted(members, key=lambda t: t.family.order if t.family else 0)
            for name, members in sorted(grouped.items())}


def reset_repo(repo: Path, task: Task) -> None:
    """The family's repository takes this member's starting files, as one new commit."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(["init", "--quiet"], repo)
    for child in repo.iterdir():
        if child.name == ".git":
            continue
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    assert task.repo_dir is not None, "a family member starts from a folder, not a bundle"
    shutil.copytree(task.repo_dir, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    git(["add", "-A"], repo)
    git(["commit", "--quiet", "--allow-empty", "-m", f"start of task {task.name}"], repo)


def session_arms(db: Path, session_id: str) -> tuple[str, list[str]]:
    """The arm a session drew for the entries retrieved for it (injected wins if it saw any)."""
    if not session_id or not db.exists():
        return "none", []
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT entry_id, arm FROM exposures WHERE session_id = ?", (session_id,)).fetchall()
    finally:
        conn.close()
    if not rows:
        return "none", []
    arms = {arm for _, arm in rows}
    return ("injected" if "injected" in arms else "holdout"), sorted({entry for entry, _ in rows})


def session_of(db: Path, run_id: str | None) -> str:
    if not run_id or not db.exists():
        return ""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT session_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    finally:
        conn.close()
    return row[0] if row else ""


def learn(db: Path, setup: RunSetup, env: dict[str, str], offline: bool) -> str:
    """`agent learn` on the experiment's database, as a user would run it between tasks."""
    argv = [setup.python, "-m", "once", "learn", "--db", str(db), "--json"] + (["--offline"] if offline else [])
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=LEARN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"agent learn did not finish within {LEARN_TIMEOUT:.0f} s"
    if done.returncode != 0:
        return f"agent learn failed: {(done.stderr or done.stdout).strip()[-500:]}"
    return ""


@dataclass
class LearningPlan:
    families: dict[str, list[Task]]
    arm: Arm
    setup: RunSetup
    rounds: int = 1
    offline_learn: bool = True
    paired: bool = True


def run_experiment(plan: LearningPlan, say: Say | None = None) -> dict[str, Any]:
    from once.evals.outcome import classify
    from once.evals.runner import agent_env
    from once.evals.suite_run import run_events

    members: list[MemberRun] = []
    problems: list[str] = []
    depth = max(len(m) for m in plan.families.values())
    for round_number in range(1, plan.rounds + 1):
        # Each round is a new project with its own database: rounds replicate, they do not share.
        folder = plan.setup.out / f"round-{round_number}"
        setup = replace(plan.setup, out=folder, db=folder / "learn.db")
        Store(setup.db).close()  # created and migrated once, before agents open it
        repos = {name: folder / "repos" / name / REPO_NAME for name in plan.families}
        for order in range(depth):
            for family, tasks in plan.families.items():
                if order >= len(tasks):
                    continue
                task = tasks[order]
                member = _run_member(task, family, round_number, repos[family], plan.arm, setup, plan.paired)
                member.first.kind = classify(member.first, run_events(setup.db, member.first.run_ids))
                members.append(member)
                if say:
                    said = "pass" if member.first.passed else f"fail ({member.first.kind})"
                    fixed = "" if member.corrected is None else (
                        "; after the correction: " + ("pass" if member.corrected.passed else "still failing"))
                    twin = "" if member.twin is None else (
                        f"; {member.twin_arm} twin: " + ("pass" if member.twin.passed else "fail"))
                    say(f"round {round_number} {task.name}: entry {member.arm}; first attempt {said}{fixed}{twin}")
            any_task = next(iter(plan.families.values()))[0]
            problem = learn(setup.db, setup, agent_env(any_task, plan.arm, setup), plan.offline_learn)
            if problem:
                problems.append(problem)
                if say:
                    say(problem)
    return experiment_report(members, problems)


def _run_member(task: Task, family: str, round_number: int, repo: Path, arm: Arm, setup: RunSetup,
                paired: bool = False) -> MemberRun:
    assert task.family is not None
    reset_repo(repo, task)
    twin_setup = _twin(repo, setup, task.name) if paired and task.family.order > 1 else None
    first = run_in_repo(task, arm, round_number, repo, setup, steps_for(task), check_copy=True, label=task.name)
    member = MemberRun(family, task.family.order, task.name, round_number, first)
    member.session_id = session_of(setup.db, first.run_ids[0] if first.run_ids else None)
    member.arm, member.entries = session_arms(setup.db, member.session_id)
    if twin_setup is not None and member.twin_arm != "none":
        forced = replace(arm, name=f"{arm.name}.{member.twin_arm}",
                         settings={**arm.settings, "learn.arm": member.twin_arm})
        member.twin = _run_twin(task, forced, round_number, repo, twin_setup)
    if first.passed or not member.session_id:
        return member
    # The scripted user: first says it still fails (as most do), then gives the fix it knows.
    nudge = run_in_repo(task, arm, round_number, repo, setup, [Step("run", nudge_text(first), True)],
                        check_copy=True, label=f"{task.name}.nudge")
    member.corrected = nudge if nudge.passed else run_in_repo(
        task, arm, round_number, repo, setup, [Step("run", task.family.correction, True)], check_copy=True,
        label=f"{task.name}.correction")
    if member.corrected.passed:  # and says so, as people do: the session ends resolved, not idle
        run_in_repo(task, arm, round_number, repo, setup, [Step("run", THANKS, True, max_turns=1)],
                    check_copy=True, label=f"{task.name}.thanks")
    return member


def _twin(repo: Path, setup: RunSetup, name: str) -> RunSetup:
    """A copy of the member's repository and of the project's database as they are now."""
    assert setup.db is not None
    folder = setup.out / "twins" / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(repo, folder / REPO_NAME, symlinks=True)
    db = folder / "learn.db"
    source, target = sqlite3.connect(setup.db), sqlite3.connect(db)
    try:
        source.backup(target)  # consistent under WAL, unlike copying the file
    finally:
        source.close()
        target.close()
    return replace(setup, out=folder, db=db)


def _run_twin(task: Task, arm: Arm, round_number: int, repo: Path, twin: RunSetup) -> TaskRun:
    """The twin runs at the member's own path (project entries are scoped to it), with the
    member's repository moved aside meanwhile and put back after."""
    copy, aside = twin.out / REPO_NAME, repo.with_name(repo.name + ".member")
    repo.rename(aside)
    copy.rename(repo)
    try:
        return run_in_repo(task, arm, round_number, repo, twin, steps_for(task), check_copy=True,
                           label=f"{task.name}.twin")
    finally:
        repo.rename(copy)
        aside.rename(repo)


def nudge_text(run: TaskRun) -> str:
    """What a user says after a failed attempt, before they explain: the check's own complaint."""
    error = run.check_summary.split("first error: ", 1)[-1].strip() if run.check_summary else ""
    return f"That did not work, the check still fails: {error[:300]}. Please fix it." if error else \
        "That did not work, the check still fails. Please fix it."


def newcombe(a: Rate, b: Rate) -> tuple[float, float, float]:
    """Difference of two independent proportions a - b with Newcombe's hybrid score interval."""
    if not a.total or not b.total:
        return 0.0, -1.0, 1.0
    diff = a.value - b.value
    low = diff - ((a.value - a.low) ** 2 + (b.high - b.value) ** 2) ** 0.5
    high = diff + ((a.high - a.value) ** 2 + (b.value - b.low) ** 2) ** 0.5
    return diff, max(-1.0, low), min(1.0, high)


def paired_newcombe(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float]:
    """Mean of a - b over paired outcomes with Newcombe's interval for paired proportions
    (his method 10: Wilson intervals of both margins, joined through the phi correlation)."""
    n = len(pairs)
    if not n:
        return 0.0, -1.0, 1.0
    both = sum(a and b for a, b in pairs)
    only_a = sum(a and not b for a, b in pairs)
    only_b = sum(b and not a for a, b in pairs)
    neither = n - both - only_a - only_b
    rate_a, rate_b = wilson(both + only_a, n), wilson(both + only_b, n)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    cross = both * neither - only_a * only_b
    cross = max(cross - n / 2, 0.0) if cross > 0 else cross  # Newcombe's continuity adjustment
    phi = cross / margins ** 0.5 if margins else 0.0
    a_down, a_up = rate_a.value - rate_a.low, rate_a.high - rate_a.value
    b_down, b_up = rate_b.value - rate_b.low, rate_b.high - rate_b.value
    diff = rate_a.value - rate_b.value
    low = diff - max(0.0, a_down ** 2 - 2 * phi * a_down * b_up + b_up ** 2) ** 0.5
    high = diff + max(0.0, a_up ** 2 - 2 * phi * a_up * b_down + b_down ** 2) ** 0.5
    return diff, max(-1.0, low), min(1.0, high)


def experiment_report(members: list[MemberRun], problems: list[str] | None = None) -> dict[str, Any]:
    later = [m for m in members if m.order > 1]
    pairs = [pair for pair in (m.pair() for m in later) if pair is not None]
    paired_diff, paired_low, paired_high = paired_newcombe(pairs)
    rates = {arm: wilson(sum(m.first.passed for m in later if m.arm == arm), sum(m.arm == arm for m in later))
             for arm in ("injected", "holdout", "none")}
    first_members = [m for m in members if m.order == 1]
    diff, low, high = newcombe(rates["injected"], rates["holdout"])
    return {
        "members": [m.to_json() for m in members],
        "first_members": wilson(sum(m.first.passed for m in first_members), len(first_members)).to_json(),
        "corrections": {"given": sum(m.corrected is not None for m in members),
                        "unstuck": sum(bool(m.corrected and m.corrected.passed) for m in members)},
        "later": {arm: rate.to_json() for arm, rate in rates.items()},
        "lift": {"difference": round(diff, 4), "low": round(low, 4), "high": round(high, 4)},
        "paired": {"members": len(pairs), "injected_passed": sum(a for a, _ in pairs),
                   "holdout_passed": sum(b for _, b in pairs), "difference": round(paired_diff, 4),
                   "low": round(paired_low, 4), "high": round(paired_high, 4)},
        "problems": problems or [],
    }


def render_experiment(report: dict[str, Any]) -> str:
    later, lift = report["later"], report["lift"]

    def rate(item: dict[str, Any]) -> str:
        return f"{item['passed']}/{item['total']}" + (f" = {item['rate']:.0%}" if item["total"] else "")

    lines = [
        f"first members (nothing to learn from yet): {rate(report['first_members'])} passed",
        f"corrections given after a failure: {report['corrections']['given']}, "
        f"then passing: {report['corrections']['unstuck']}",
        f"later members, entry injected: {rate(later['injected'])}",
        f"later members, entry held out: {rate(later['holdout'])}",
        f"later members, no entry retrieved: {rate(later['none'])}",
        f"lift of an injected entry over the holdout: {lift['difference']:+.0%} "
        f"(95% CI {lift['low']:+.0%} to {lift['high']:+.0%})",
    ]
    paired = report.get("paired") or {}
    if paired.get("members"):
        lines.append(
            f"paired (each later member in both arms): injected {paired['injected_passed']}/{paired['members']}, "
            f"held out {paired['holdout_passed']}/{paired['members']}; lift {paired['difference']:+.0%} "
            f"(95% CI {paired['low']:+.0%} to {paired['high']:+.0%})")
    lines += [f"problem: {p}" for p in report["problems"]]
    return "\n".join(lines)
