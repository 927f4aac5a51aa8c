"""Summaries of a failed check: a stable signature, a trace excerpt, the retry block.

Pure text in, text out. The "Previous attempt failed" block is for the next model
call, kept small so a few retries do not eat the context. The output readers live in
`parse` and are re-exported here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from once.lazyre import LazyPattern
from once.verify.parse import (
    MAX_ERROR_CHARS,
    clip,
    failing_tests,
    first_error,
    locate_first_error,
    parse_counts,
    strip_ansi,
)
from once.words import plural

if TYPE_CHECKING:  # only for annotations: run.py imports this module
    from once.verify.run import CheckOutcome

__all__ = [
    "extract_trace", "failing_tests", "failure_signature", "first_error", "parse_counts", "strip_ansi",
    "summarize_attempts", "summarize_failure", "summary_line", "tail_lines",
]

MAX_FAILING_SHOWN = 10
MAX_TRACE_LINES = 40
MAX_LINE_CHARS = 200
MAX_SIGNATURE_CHARS = 200
MAX_SUMMARY_CHARS = 3000

# ---------------------------------------------------------------- signatures

_SIGNATURE_RULES: tuple[tuple[LazyPattern, str], ...] = (
    # temp dirs first: their names are random and their paths long
    (LazyPattern(r"(?:/private)?(?:/tmp|/var/folders|/var/tmp)/[^\s'\"`:,)]*"), "<tmp>"),
    (LazyPattern(r"[A-Za-z]:\\[^\s'\"]*\\Temp\\[^\s'\"`:,)]*", re.IGNORECASE), "<tmp>"),
    (LazyPattern(r"'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`"), "'?'"),  # quoted values
    (LazyPattern(r"0x[0-9a-fA-F]+(?:\.\.\.)?"), "0x?"),  # addresses
    (LazyPattern(r"\b[0-9a-f]{12,}\b"), "<hex>"),  # hashes, ids
    (LazyPattern(r"(?<![\w.~-])(?:/[\w.@+-]+)+/([\w.@+-]+)"), r"\1"),  # absolute paths -> the file name
    (LazyPattern(r"(\.\w+)(?::\d+){1,2}"), r"\1"),  # file.py:12:5 -> file.py
    (LazyPattern(r"(\.\w+)\(\d+,\d+\)"), r"\1"),  # file.ts(3,5) -> file.ts
    (LazyPattern(r"(?<!\w)\d+(?:\.\d+)*"), "N"),  # remaining numbers, not those inside names (E0425)
    (LazyPattern(r"\s+"), " "),
)


def failure_signature(first_error: str) -> str:
    """The first error with run-specific details removed, so a repeat is recognizable.

    Line numbers, addresses, numbers, quoted values and temporary paths become
    placeholders: the same failure in two runs gives the same signature.
    """
    text = strip_ansi(first_error).strip()
    for pattern, replacement in _SIGNATURE_RULES:
        text = pattern.sub(replacement, text)
    return clip(text.strip(), MAX_SIGNATURE_CHARS)


# ---------------------------------------------------------------- trace excerpt

_SECTION_START = LazyPattern(r"^(?:_{3,} .+ _{3,}|={10,}|---- \S+ stdout ----|\s*● .+|--- FAIL: .+|=== RUN .+)$")
_SECTION_END = LazyPattern(r"^(?:_{3,} .+ _{3,}|={3,}.*|-{10,}|---- \S+ stdout ----|\s*● .+|--- FAIL: .+|=== RUN .+)$")
_LOOK_BACK = 60
_AFTER_ERROR = 15
_TAIL_ON_TIMEOUT = 20


def extract_trace(output: str) -> str:
    """The lines around the first error (its test's section when one is marked), clipped."""
    lines = [line.rstrip() for line in strip_ansi(output).splitlines()]
    if not any(line.strip() for line in lines):
        return ""
    _, at = locate_first_error(lines)
    start = next((i for i in range(at, max(at - _LOOK_BACK, -1), -1) if _SECTION_START.match(lines[i])), None)
    if start is None:
        start = max(at - MAX_TRACE_LINES + _AFTER_ERROR, 0)
    end = next((i for i in range(at + 1, min(at + _AFTER_ERROR, len(lines))) if _SECTION_END.match(lines[i])),
               min(at + _AFTER_ERROR, len(lines)))
    return _trimmed_lines(lines[start:end])


def tail_lines(output: str, count: int = _TAIL_ON_TIMEOUT) -> str:
    lines = [line.rstrip() for line in strip_ansi(output).splitlines() if line.strip()]
    return _trimmed_lines(lines[-count:])


def _trimmed_lines(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) > MAX_TRACE_LINES:
        # The start names the test; the end holds the error and where it happened.
        head = 8
        tail = MAX_TRACE_LINES - head - 1
        lines = [*lines[:head], f"[... {len(lines) - head - tail} lines trimmed ...]", *lines[-tail:]]
    return "\n".join(clip(line, MAX_LINE_CHARS) for line in lines)


# ---------------------------------------------------------------- summaries


def _seconds(duration_ms: float) -> str:
    return f"{duration_ms / 1000:.1f} s"


def _counts_text(passed: int, failed: int) -> str:
    parts = ([f"{failed} failed"] if failed else []) + ([f"{passed} passed"] if passed else [])
    return ", ".join(parts)


def summary_line(name: str, *, passed: bool, timed_out: bool, exit_code: int, passed_count: int,
                 failed_count: int, duration_ms: float, first_error: str) -> str:
    """One line for events and the final report, e.g. "pytest failed (exit 1, 2.0 s): 1 failed; first error: ..."."""
    counts = _counts_text(passed_count, failed_count)
    if timed_out:  # the first error then says after how long
        return (first_error or f"{name} timed out") + (f" ({counts} so far)" if counts else "")
    if passed:
        return f"{name} passed" + (f": {counts}" if counts else "") + f" ({_seconds(duration_ms)})"
    text = f"{name} failed (exit {exit_code}, {_seconds(duration_ms)})" + (f": {counts}" if counts else "")
    return clip(text + (f"; first error: {first_error}" if first_error else ""), MAX_ERROR_CHARS + 100)


def summarize_failure(outcome: CheckOutcome) -> str:
    """The "Previous attempt failed" block for the next model call ("" when the check passed).

    Which check and command, the failing test ids (at most MAX_FAILING_SHOWN), the first
    error and a trimmed trace; never longer than MAX_SUMMARY_CHARS.
    """
    if outcome.passed:
        return ""
    check = outcome.check
    if outcome.timed_out:
        head = [f"Previous attempt failed: the check {check.name} (`{check.command}`) ran too long: "
                f"{outcome.first_error}, and it was stopped with every process it started."]
        trace_title = "Last lines of output:"
    else:
        counts = _counts_text(outcome.passed_count, outcome.failed_count)
        head = [f"Previous attempt failed: the check {check.name} (`{check.command}`) exited with code "
                f"{outcome.exit_code} after {_seconds(outcome.duration_ms)}" + (f": {counts}." if counts else ".")]
        trace_title = "Trace (trimmed):"
    tests = list(outcome.failing_tests)
    if tests:
        head.append(f"Failing tests ({len(tests)}):")
        head.extend(f"- {clip(test, MAX_LINE_CHARS)}" for test in tests[:MAX_FAILING_SHOWN])
        if len(tests) > MAX_FAILING_SHOWN:
            head.append(f"- ... and {len(tests) - MAX_FAILING_SHOWN} more")
    if outcome.first_error:
        head.append(f"First error: {outcome.first_error}")
    tail = "Find the cause and fix it; the checks run again after your next change."
    return _with_trace(head, trace_title, outcome.trace, tail)


def _with_trace(head: list[str], title: str, trace: str, tail: str) -> str:
    """Join the parts, dropping trace lines from the top until the whole fits."""
    text = "\n".join([*head, tail])
    lines = trace.splitlines()
    while lines:
        candidate = "\n".join([*head, title, "```", *lines, "```", tail])
        if len(candidate) <= MAX_SUMMARY_CHARS:
            return candidate
        lines = lines[1:]
    return clip(text, MAX_SUMMARY_CHARS)


def summarize_attempts(outcomes: Sequence[CheckOutcome]) -> str:
    """What was tried, for the report when retries run out: one line per failed check run."""
    failed = [outcome for outcome in outcomes if not outcome.passed]
    if not failed:
        return "All checks passed."
    lines = [f"Checks still failing after {plural(len(failed), 'failed check run')}:"]
    seen: dict[str, int] = {}
    for number, outcome in enumerate(failed, start=1):
        repeat = seen.get(outcome.signature) if outcome.signature else None
        note = f" (the same failure as run {repeat})" if repeat else ""
        lines.append(f"{number}. {outcome.summary}{note}")
        if outcome.signature:
            seen.setdefault(outcome.signature, number)
    return "\n".join(lines)
