"""The verification loop: run the project's checks after edits, feed failures back, stop
after `verify.max_retries` failed fix attempts, and say the real status at the end."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from once.agent.recorder import Recorder
from once.errors import NotARepoError, VcsError
from once.events import SecretBlocked, TestResult, WarningEvent
from once.vcs.commit_secrets import Refs, readable
from once.vcs.repo import GitRepo
from once.words import plural

if TYPE_CHECKING:
    from once.config import VerifySettings
    from once.verify import Check, CheckOutcome


class Verifier:
    def __init__(self, checks: list[Check], settings: VerifySettings, repo_root: Path, env: Mapping[str, str],
                 recorder: Recorder, permit: Callable[[Check, frozenset[str]], str | None] | None = None,
                 cancel: threading.Event | None = None, sandbox: tuple[str, bool] = ("off", False)) -> None:
        self.checks = checks
        self.sandbox = sandbox
        self.cancel = cancel
        """Set by the app's Escape: a running check stops and the run ends as interrupted."""
        self.permit = permit
        """Asks the permission gate about a check (given the files the agent changed); None: it may run."""
        self.touched: set[str] = set()
        """Every file the agent changed in this run (a check it redefined is not the project's own)."""
        self.refused: dict[str, str] = {}
        self.settings = settings
        self.repo_root = repo_root
        self.env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        self.recorder = recorder
        self.failures = 0
        """Consecutive check runs that failed."""
        self.failed_runs: list[CheckOutcome] = []
        self.last: list[CheckOutcome] = []
        self.changed_since_check = False
        self._git: GitRepo | None = None
        self.initial: list[CheckOutcome] = []
        """The checks before any edit, when they were run (`baseline`)."""

    @property
    def active(self) -> bool:
        return bool(self.checks) and self.settings.when != "off"

    @property
    def exhausted(self) -> bool:
        """More failed fix attempts than `max_retries` allows (the first failure is not a retry)."""
        return self.failures > self.settings.max_retries

    def after_turn(self, turn: int, changed: Sequence[str]) -> str | None:
        """With `when = "turn"`: check a turn that changed files; the failure block, or None."""
        self.touched.update(changed)
        self.changed_since_check = self.changed_since_check or bool(changed)
        if not self.active or self.settings.when != "turn" or not self.changed_since_check:
            return None
        return self._check(turn)

    def at_end(self, turn: int) -> str | None:
        """The model says it is done: a failure block if the checks do not pass yet, else None."""
        if not self.active:
            return None
        if self.changed_since_check:
            return self._check(turn)
        failed = [o for o in self.last if not o.passed]
        if not failed:
            return None
        self.failures += 1  # it stopped without fixing what failed: that attempt failed too
        return _feedback(failed)

    def baseline(self) -> str | None:
        """The checks before any edit (turn 0): their failures, or None. Not counted as a fix attempt."""
        if not self.active:
            return None
        feedback = self._check(0)
        self.failures = 0
        self.failed_runs = []
        self.initial = list(self.last)
        return feedback

    def start_over(self) -> None:
        """The run's edits were undone: the tree is the one the checks saw before any edit."""
        self.failures = 0
        self.failed_runs = []
        self.changed_since_check = False
        self.last = list(self.initial)

    def _check(self, turn: int) -> str | None:
        self.changed_since_check = False
        allowed = []
        for check in self.checks:
            refusal = self.permit(check, frozenset(self.touched)) if self.permit is not None else None
            if refusal is None:
                allowed.append(check)
            else:
                self.refused[check.name] = refusal
        self.last = [self._run(check, turn) for check in allowed]
        failed = [o for o in self.last if not o.passed]
        if not failed:
            self.failures = 0
            return None
        self.failures += 1
        self.failed_runs.extend(failed)
        return _feedback(failed)

    def _run(self, check: Check, turn: int) -> CheckOutcome:
        from once.verify.run import run_check  # only a run that has checks to run needs it

        before = self._refs()
        outcome = run_check(check, self.repo_root, timeout=float(self.settings.timeout), env=self.env,
                            cancel=self.cancel, sandbox=self.sandbox)
        if before is not None:
            self._check_commits(before)
        self.recorder.emit(TestResult(
            run_id=self.recorder.run_id, turn=turn, check=check.name, command=check.command, passed=outcome.passed,
            passed_count=outcome.passed_count, failed_count=outcome.failed_count, duration_ms=outcome.duration_ms,
            signature=outcome.signature, summary=outcome.summary,
        ))
        return outcome

    def _refs(self) -> Refs | None:
        try:
            return self._repo().refs()
        except (VcsError, NotARepoError):
            return None

    def _repo(self) -> GitRepo:
        if self._git is None:
            self._git = GitRepo.open(self.repo_root)  # finds `.git` itself: HEAD is read without git
        return self._git

    def _check_commits(self, before: Refs) -> None:
        """A check is a command: a commit it made itself that adds a secret (a conftest.py the model
        wrote, outside the sandbox) is undone or reported, as a command's is."""
        from once.agent.command_commits import check_command_commits

        try:
            found = check_command_commits(self._repo(), before)
        except (VcsError, NotARepoError) as exc:
            self.recorder.emit(WarningEvent(run_id=self.recorder.run_id, message=(
                f"could not check the commits a check may have made ({exc.message}): check `git log` before pushing")))
            return
        if found is None:
            return
        for path, kinds in [*found.files.items(), *found.other.items()]:
            self.recorder.emit(SecretBlocked(run_id=self.recorder.run_id, path=readable(path), kinds=kinds, lines=[]))
        self.recorder.emit(WarningEvent(run_id=self.recorder.run_id, message=found.message()))

    def report(self) -> str:
        """The verification status for the final report, from real check results only."""
        if not self.checks:
            return "Checks: none found (set verify.test_command to name them)."
        if self.settings.when == "off":
            return "Checks: not run (verify.when = off)."
        if self.refused and not self.last:
            return "Checks: not run: " + " ".join(f"{name}: {why}" for name, why in self.refused.items())
        if not self.last:
            return "Checks: not run (no files changed)."
        parts = [o.summary for o in self.last]
        if all(o.passed for o in self.last):
            return "Checks: passed. " + " ".join(parts)
        text = "Checks: FAILING. " + " ".join(parts)
        if self.exhausted:
            from once.verify.summarize import summarize_attempts

            attempts = self.failures - 1
            text += (f"\nStopped after {plural(attempts, 'failed fix attempt')}:\n"
                     f"{summarize_attempts(self.failed_runs)}")
        return text


def _feedback(failed: list[CheckOutcome]) -> str:
    from once.verify.summarize import summarize_failure

    return "\n\n".join(summarize_failure(outcome) for outcome in failed)
