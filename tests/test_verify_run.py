"""Running checks for real: a small pytest project, a timeout, big output, credentials."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from once.tools.command import MAX_OUTPUT_CHARS
from once.verify import Check, detect_checks, run_check, summarize_failure

PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"


@pytest.fixture()
def env() -> dict[str, str]:
    # Plugin autoloading makes pytest start slowly; the fixture project needs none.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "tests" / "test_ok.py").write_text("def test_one():\n    assert 1 + 1 == 2\n\ndef test_two():\n    pass\n")
    (root / "tests" / "test_calc.py").write_text(
        "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\n"
        "def test_zero():\n    assert add(0, 0) == 0\n")
    return root


def test_passing_and_failing_pytest_runs(project: Path, env: dict[str, str]) -> None:
    configured = only_check(detect_checks(project, test_command=PYTEST))
    failing = run_check(configured, project, timeout=60, env=env)
    assert (failing.passed, failing.exit_code, failing.timed_out) == (False, 1, False)
    assert (failing.passed_count, failing.failed_count) == (3, 1)
    assert failing.failing_tests == ("tests/test_calc.py::test_add",)
    assert failing.first_error == "AssertionError: assert 0 == 4"
    assert failing.signature == "AssertionError: assert N == N"
    assert failing.duration_ms > 0
    assert "1 failed, 3 passed" in failing.output
    block = summarize_failure(failing)
    assert "tests/test_calc.py::test_add" in block and "return a - b" not in block  # trace is the test's section
    assert "assert add(2, 2) == 4" in block

    (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    passing = run_check(configured, project, timeout=60, env=env)
    assert (passing.passed, passing.exit_code, passing.signature) == (True, 0, "")
    assert (passing.passed_count, passing.failed_count) == (4, 0)
    assert passing.summary.startswith("test passed: 4 passed (")


def only_check(checks: list[Check]) -> Check:
    assert len(checks) == 1
    return checks[0]


def test_timeout_stops_the_check_and_its_children(tmp_path: Path, env: dict[str, str]) -> None:
    marker = tmp_path / "late"
    command = f"echo started; (sleep 5; touch {shlex.quote(str(marker))}) & sleep 30"
    started = time.monotonic()
    outcome = run_check(Check("slow", command, "config"), tmp_path, timeout=0.5, env=env)
    took = time.monotonic() - started
    assert outcome.timed_out and not outcome.passed
    assert took < 5
    assert outcome.first_error == "slow timed out after 0.5 s"
    assert outcome.signature == "slow timed out after N s"
    assert "started" in outcome.trace
    assert outcome.summary == "slow timed out after 0.5 s"
    assert "timed out" in summarize_failure(outcome)
    assert not marker.exists()  # the background child was stopped with the group


def test_output_is_trimmed(tmp_path: Path, env: dict[str, str]) -> None:
    command = "i=0; while [ $i -lt 3000 ]; do echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; exit 3"
    outcome = run_check(Check("noisy", command, "config"), tmp_path, timeout=30, env=env)
    assert outcome.exit_code == 3 and not outcome.passed
    assert len(outcome.output) <= MAX_OUTPUT_CHARS + 200
    assert "lines trimmed" in outcome.output
    assert outcome.output.startswith("line 0 ") and outcome.output.rstrip().endswith("line 2999 " + "x" * 32)
    assert len(summarize_failure(outcome)) <= 3000


def test_credentials_never_reach_the_check(tmp_path: Path, env: dict[str, str]) -> None:
    leaky = {**env, "ANTHROPIC_API_KEY": "sk-ant-test-0000", "OPENAI_API_KEY": "sk-test-0000", "KEEP_ME": "yes"}
    command = 'echo "a=${ANTHROPIC_API_KEY:-unset} o=${OPENAI_API_KEY:-unset} k=$KEEP_ME"'
    outcome = run_check(Check("env", command, "config"), tmp_path, timeout=10, env=leaky)
    assert outcome.passed
    assert outcome.output.strip() == "a=unset o=unset k=yes"


def test_a_command_that_cannot_start_is_a_failure(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "gone"
    outcome = run_check(Check("test", "true", "config"), missing, timeout=10, env=env)
    assert not outcome.passed and outcome.exit_code == 127
    assert "could not start" in outcome.first_error


def test_missing_program_reports_the_shell_error(tmp_path: Path, env: dict[str, str]) -> None:
    outcome = run_check(Check("test", "no-such-program-xyz --check", "config"), tmp_path, timeout=10, env=env)
    assert outcome.exit_code == 127 and not outcome.passed
    assert "no-such-program-xyz" in outcome.first_error
