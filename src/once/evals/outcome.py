"""Why a task run failed, decided from what it reported and the events it logged (pure).

The kinds, in the order they are tried:

    pass            the check passed (whatever the run's own status said)
    timeout         the task's time limit stopped the agent
    crash           the agent died without its JSON report (an internal error, a kill)
    provider        the model could not be reached or used (server down, cassette exhausted)
    tokens          the task's token limit was passed
    bad_tool_call   the server could not parse the model's calls, or most calls were malformed
    loop            the same call with the same result four times in a row, or the same failing
                    call three times (the agent stops itself then)
    max_turns       the turn limit ended a step
    incomplete      the agent ended a step as incomplete: it changed nothing, or claimed a change
                    it did not make
    check_failed    the agent stopped, and the check says the task is not done
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from once.evals.runner import TaskRun

KINDS = ("pass", "timeout", "crash", "provider", "tokens", "bad_tool_call", "loop", "max_turns", "incomplete",
         "check_failed")
REPEATED_FAILURES = 3
"""Identical failing calls in a row that make a loop (the agent's own RepeatGuard stops there)."""
_MALFORMED_PREFIXES = ("Unknown tool", "Tool input for", "Bad input for")


def classify(run: TaskRun, events: Sequence[Mapping[str, Any]], *, token_limit: int | None = None) -> str:
    statuses = [step.status for step in run.steps]
    if run.check_passed:
        return "pass"
    if run.timed_out or "timeout" in statuses:
        return "timeout"
    if "crash" in statuses:
        return "crash"
    errors = [step for step in run.steps if step.status == "error"]
    if any(step.error_kind == "ModelOutputError" for step in errors) or _mostly_malformed(events):
        return "bad_tool_call"
    if errors:
        return "provider" if any(step.exit_code == 3 for step in errors) else "crash"
    if token_limit is not None and run.tokens > token_limit:
        return "tokens"
    if _looped(events):
        return "loop"
    if "max_turns" in statuses or "max_cost" in statuses:
        return "max_turns"
    if "incomplete" in statuses:
        return "incomplete"
    return "check_failed"


def _mostly_malformed(events: Sequence[Mapping[str, Any]]) -> bool:
    results = [e for e in events if e.get("type") == "tool_result"]
    bad = [e for e in results if e.get("is_error") and str(e.get("output", "")).startswith(_MALFORMED_PREFIXES)]
    return len(bad) >= 2 and len(bad) * 2 > len(results)


def _looped(events: Sequence[Mapping[str, Any]]) -> bool:
    from once.learn.signals import detect_self_loops

    return bool(detect_self_loops(events)) or _repeated_failures(events)


def _repeated_failures(events: Sequence[Mapping[str, Any]]) -> bool:
    calls = {e.get("tool_use_id"): e for e in events if e.get("type") == "tool_call"}
    run, last = 0, None
    for event in events:
        if event.get("type") != "tool_result":
            continue
        call = calls.get(event.get("tool_use_id"), {})
        key = (event.get("name"), repr(call.get("input")), event.get("output")) if event.get("is_error") else None
        run = run + 1 if key is not None and key == last else (1 if key is not None else 0)
        last = key
        if run >= REPEATED_FAILURES:
            return True
    return False
