"""Running one check: the project's command, bounded in time, its output read for results.

The process handling is `run_command`'s (its own process group, stopped with everything
it started on a timeout, output capped while it arrives); this module only adds the
reading of the result.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from once.safety.env import without_credentials
from once.safety.sandbox import SandboxMissing
from once.tools.command import _run as run_shell
from once.tools.command import trim_output
from once.verify.detect import Check
from once.verify.summarize import (
    extract_trace,
    failing_tests,
    failure_signature,
    first_error,
    parse_counts,
    strip_ansi,
    summary_line,
    tail_lines,
)

START_FAILED_CODE = 127
"""Exit code reported when the command could not be started at all (as a shell would)."""


@dataclass(frozen=True)
class CheckOutcome:
    """What one run of a check showed."""

    check: Check
    exit_code: int
    passed: bool
    timed_out: bool
    duration_ms: float
    output: str
    """Combined stdout and stderr, trimmed to its first and last lines."""
    passed_count: int
    failed_count: int
    signature: str
    """Normalized first error ("" when passing): the same failure twice gives the same signature."""
    summary: str
    """One line, e.g. "pytest failed (exit 1, 2.0 s): 1 failed, 3 passed; first error: ..."."""
    first_error: str = ""
    failing_tests: tuple[str, ...] = ()
    trace: str = ""
    """The output around the first error (or its last lines after a timeout), at most ~40 lines."""


def run_check(check: Check, repo_root: Path, *, timeout: float, env: Mapping[str, str],
              cancel: threading.Event | None = None, sandbox: tuple[str, bool] = ("off", False)) -> CheckOutcome:
    """Run `check.command` in `repo_root` and read the result.

    Provider credentials are removed from `env` whatever the caller passes: a project's
    own config may name these commands. A command that cannot start is a failed check.
    Setting `cancel` stops the check and raises KeyboardInterrupt: a check the user cut
    short neither passed nor failed, so it is not an outcome.
    """
    started = time.monotonic()
    try:
        result = run_shell(check.command, str(repo_root), without_credentials(env), float(timeout), cancel,
                           sandbox=sandbox)
    except (OSError, SandboxMissing) as exc:
        elapsed = (time.monotonic() - started) * 1000
        return build_outcome(check, START_FAILED_CODE, f"could not start the check: {exc}", elapsed)
    if result.cancelled:
        raise KeyboardInterrupt
    elapsed = (time.monotonic() - started) * 1000
    return build_outcome(check, result.code, result.output, elapsed, timed_out=result.timed_out, timeout=timeout)


def build_outcome(check: Check, exit_code: int, output: str, duration_ms: float, *,
                  timed_out: bool = False, timeout: float | None = None) -> CheckOutcome:
    """Read raw output into an outcome. Pure: also the way to make outcomes in tests.

    `timeout` is the limit that was hit, for the message; without it the duration is used.
    """
    clean = strip_ansi(output)
    passed = exit_code == 0 and not timed_out
    passed_count, failed_count = parse_counts(clean)
    limit = timeout if timeout is not None else duration_ms / 1000
    if passed:
        error = ""
    elif timed_out:
        error = f"{check.name} timed out after {round(limit, 1):g} s"
    else:
        error = first_error(clean)
    if not passed and not error:
        error = f"exit code {exit_code} with no output"
    summary = summary_line(check.name, passed=passed, timed_out=timed_out, exit_code=exit_code,
                           passed_count=passed_count, failed_count=failed_count, duration_ms=duration_ms,
                           first_error=error)
    trace = "" if passed else (tail_lines(clean) if timed_out else extract_trace(clean))
    return CheckOutcome(
        check=check, exit_code=exit_code, passed=passed, timed_out=timed_out, duration_ms=duration_ms,
        output=trim_output(clean), passed_count=passed_count, failed_count=failed_count,
        signature=failure_signature(error),
        summary=summary, first_error=error, failing_tests=tuple(failing_tests(clean)), trace=trace,
    )
