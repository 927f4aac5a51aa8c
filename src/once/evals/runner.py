"""One run of one task in one arm: a fresh repository, the agent as a subprocess per step,
then the hidden files and the check.

The agent runs as `python -m once run ... -o json` so a crash, a hang or a kill is observed
from outside, exactly as a user would see it; each step records its model responses to a
cassette, and its events go to the eval's own database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from once.evals.arms import Arm
from once.evals.task import Task
from once.evals.workspace import changed_files, head_tree, overlay_hidden, prepare_repo, remove_repo

_LIVE: set[subprocess.Popen[str]] = set()
_LIVE_LOCK = threading.Lock()
GRACE_SECONDS = 10.0
"""After SIGTERM at a task's time limit, how long the agent gets to record its run before SIGKILL."""
OUTPUT_TAIL = 2000


@dataclass(frozen=True)
class Step:
    command: str
    """"run", "plan" or "approve"."""
    prompt: str | None
    continue_: bool
    max_turns: int | None = None
    """Overrides the task's turn limit (a closing "thanks" needs one)."""


@dataclass
class StepResult:
    step: Step
    exit_code: int | None
    """None when the step was stopped at the time limit."""
    status: str
    """The run's status (done, max_turns, checks_failed, error, ...), or crash / timeout."""
    run_id: str | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    error_kind: str = ""
    message: str = ""
    cassette: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"command": self.step.command, "prompt": self.step.prompt, "exit_code": self.exit_code,
                "status": self.status, "run_id": self.run_id, "turns": self.turns,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd, "seconds": round(self.seconds, 3), "error_kind": self.error_kind,
                "message": self.message[:OUTPUT_TAIL], "cassette": self.cassette}


@dataclass
class TaskRun:
    task: str
    arm: str
    repeat: int
    steps: list[StepResult] = field(default_factory=list)
    db: str = ""
    """The database the run's agent logged to (`agent log --db DB RUN_ID`)."""
    check_passed: bool = False
    check_summary: str = ""
    check_output: str = ""
    timed_out: bool = False
    seconds: float = 0.0
    files_changed: list[str] = field(default_factory=list)
    tree: str = ""
    kind: str = ""
    """Set by `classify`: pass, or why not (see once.evals.outcome)."""

    @property
    def passed(self) -> bool:
        return self.check_passed

    @property
    def turns(self) -> int:
        return sum(s.turns for s in self.steps)

    @property
    def tokens(self) -> int:
        return sum(s.input_tokens + s.output_tokens for s in self.steps)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.steps)

    @property
    def run_ids(self) -> list[str]:
        return [s.run_id for s in self.steps if s.run_id]

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "arm": self.arm, "repeat": self.repeat, "passed": self.passed,
                "kind": self.kind, "turns": self.turns, "tokens": self.tokens, "cost_usd": round(self.cost_usd, 6),
                "seconds": round(self.seconds, 3), "timed_out": self.timed_out,
                "files_changed": self.files_changed, "tree": self.tree, "check_summary": self.check_summary,
                "db": self.db,
                "steps": [s.to_json() for s in self.steps]}


def steps_for(task: Task) -> list[Step]:
    """The agent invocations a task needs, in order."""
    steps: list[Step] = []
    for index, prompt in enumerate(task.prompts):
        if index == 0 and task.mode == "plan-then-execute":
            steps += [Step("plan", prompt, False), Step("approve", None, True)]
        else:
            steps.append(Step("run", prompt, index > 0 or bool(steps)))
    return steps


RUN_DB = "runs.db"


@dataclass(frozen=True)
class RunSetup:
    """What every run of an eval shares."""

    out: Path
    """The eval's folder: each run's cassettes and database go to out/runs/<task>.<arm>.<repeat>/."""
    db: Path | None = None
    """One database for every run (the learning experiment's project); None: each run has its own,
    so nothing one task leaves in a database (its file index, its sessions) reaches another."""
    python: str = sys.executable
    keep_repos: bool = False
    base_env: dict[str, str] | None = None


def run_task(task: Task, arm: Arm, repeat: int, setup: RunSetup, *,
             stopped: Callable[[], bool] = lambda: False) -> TaskRun:
    """Run every step of `task` in `arm` on a fresh copy, then its check; never raises for what
    the agent does."""
    repo = prepare_repo(task)
    try:
        return run_in_repo(task, arm, repeat, repo, setup, steps_for(task), stopped=stopped)
    finally:
        if not setup.keep_repos:
            remove_repo(repo)


def run_in_repo(task: Task, arm: Arm, repeat: int, repo: Path, setup: RunSetup, steps: list[Step], *,
                stopped: Callable[[], bool] = lambda: False, check_copy: bool = False,
                label: str = "") -> TaskRun:
    """The steps in an existing repository, then the check (on a copy when `check_copy`, so the
    hidden files never reach a later step)."""
    folder = setup.out / "runs" / (label or f"{task.name}.{arm.name}.{repeat}")
    folder.mkdir(parents=True, exist_ok=True)
    db = setup.db or folder / RUN_DB
    outcome = TaskRun(task=task.name, arm=arm.name, repeat=repeat, db=str(db))
    started = time.monotonic()
    deadline = started + task.limits.time
    try:
        for number, step in enumerate(steps, 1):
            if stopped():
                break
            result = _run_step(task, arm, step, number, repo, folder, setup, deadline, db)
            outcome.steps.append(result)
            if result.status == "timeout":
                outcome.timed_out = True
                break
            if result.status in ("crash", "error") or _over_tokens(task, outcome):
                break
        outcome.files_changed = changed_files(repo)
        outcome.tree = head_tree(repo)
        run_check_on(task, repo, outcome, setup, copy=check_copy)
    finally:
        outcome.seconds = time.monotonic() - started
    return outcome


def _over_tokens(task: Task, outcome: TaskRun) -> bool:
    return task.limits.tokens is not None and outcome.tokens > task.limits.tokens


def agent_argv(task: Task, arm: Arm, step: Step, number: int, repo: Path, folder: Path, setup: RunSetup,
               db: Path) -> list[str]:
    argv = [*arm.command(setup.python), step.command]
    if step.prompt is not None:
        argv.append(step.prompt)
    argv += ["-C", str(repo), "--db", str(db), "-o", "json", "--max-turns", str(step.max_turns or task.limits.turns)]
    if step.command == "run" and step.continue_:
        argv.append("--continue")
    cassette = arm.cassette(task.name, number)
    if cassette is not None:
        argv += ["--replay", str(cassette)]
    argv += ["--record", str(folder / f"step-{number}.json")]
    return argv


def agent_env(task: Task, arm: Arm, setup: RunSetup) -> dict[str, str]:
    env = dict(setup.base_env if setup.base_env is not None else os.environ)
    env.pop("ONCE_RAISE_ERRORS", None)  # a crash must be seen as one, not as a traceback
    env.update({"ONCE_PERMISSION_MODE": "auto-edit", "ONCE_POLICY_ALLOW": json.dumps(list(task.allow))})
    env.update(arm.env())
    return env


def _run_step(task: Task, arm: Arm, step: Step, number: int, repo: Path, folder: Path, setup: RunSetup,
              deadline: float, db: Path) -> StepResult:
    record = folder / f"step-{number}.json"
    record.unlink(missing_ok=True)
    argv = agent_argv(task, arm, step, number, repo, folder, setup, db)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=repo, env=agent_env(task, arm, setup), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        exit_code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        stdout, stderr = _stop(proc)
        exit_code = None
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    result = parse_step(step, exit_code, stdout, stderr)
    result.seconds = time.monotonic() - started
    result.cassette = str(record) if record.exists() else None
    return result


def interrupt_running() -> int:
    """Ctrl-C in the eval: each running agent (in its own session, so it did not get the
    SIGINT) is told to stop as a user's Ctrl-C would; it records its run as interrupted."""
    with _LIVE_LOCK:
        running = list(_LIVE)
    for proc in running:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return len(running)


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM to the agent's process group (it records the run as interrupted), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return "", ""


def parse_step(step: Step, exit_code: int | None, stdout: str, stderr: str) -> StepResult:
    """What one `agent ... -o json` invocation reported (pure). A step stopped at the time limit
    (exit_code None) is a timeout, with whatever the agent reported as it stopped."""
    data = _json_object(stdout)
    if data is None:
        status, message = ("timeout", "stopped at the task's time limit") if exit_code is None else ("crash", "")
        return StepResult(step, exit_code, status, message=message or (stderr or stdout)[-OUTPUT_TAIL:].strip())
    if data.get("status") == "error":
        error = data.get("error") or {}
        return StepResult(step, exit_code, "error" if exit_code is not None else "timeout",
                          error_kind=str(error.get("kind", "")), message=str(error.get("message", "")))
    usage = data.get("usage") or {}
    return StepResult(
        step, exit_code, str(data.get("status", "")) if exit_code is not None else "timeout",
        run_id=data.get("run_id"), turns=int(data.get("turns", 0)),
        input_tokens=int(usage.get("input_tokens", 0)) + int(usage.get("cache_read_input_tokens", 0))
        + int(usage.get("cache_creation_input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)), cost_usd=float(usage.get("cost_usd", 0.0)),
        message=str(data.get("result", ""))[-OUTPUT_TAIL:],
    )


def _json_object(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start:])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def run_check_on(task: Task, repo: Path, outcome: TaskRun, setup: RunSetup, *, copy: bool = False) -> None:
    """Overlay the hidden files and run the task's check; on a throwaway copy when `copy`."""
    from once.safety.env import scrubbed_env
    from once.verify.detect import Check
    from once.verify.run import run_check

    where = repo
    if copy:
        where = Path(tempfile.mkdtemp(prefix="once-eval-check-")) / repo.name
        shutil.copytree(repo, where, ignore=shutil.ignore_patterns(".git"))
    try:
        overlay_hidden(task, where)
        check = Check("task check", task.check_command(setup.python), "eval")
        result = run_check(check, where, timeout=task.limits.check_timeout, env=scrubbed_env(os.environ))
    finally:
        if copy:
            shutil.rmtree(where.parent, ignore_errors=True)
    outcome.check_passed = result.passed
    outcome.check_summary = result.summary
    outcome.check_output = result.output[-OUTPUT_TAIL:]
