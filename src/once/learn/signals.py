"""Signals: pure detectors over one session's stored events.

Each detector reads the session's events (dicts as the store returns them, in time
order) and returns `Signal`s. No IO, no clock, no randomness: the same events give the
same signals with the same `ref`s, so running detection twice creates nothing new.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from once.learn import phrases

NEGATIVE_KINDS = ("repeated_request", "complaint", "same_failure", "thumbs_down", "undo", "correction",
                  "self_loop")
POSITIVE_KINDS = ("thumbs_up", "success", "checks_passed")
ALL_KINDS = NEGATIVE_KINDS + ("abandonment",) + POSITIVE_KINDS

REPEAT_THRESHOLD = 0.5
"""Similarity (word-set Jaccard, or containment of the shorter prompt) above which a prompt repeats an earlier one."""
LOOP_LENGTH = 4
"""OpenHands' stuck rule: four identical action/observation pairs in a row."""
_FAILED_STATUSES = ("error", "interrupted", "max_turns", "max_cost", "cancelled", "replay_mismatch")
_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(["a", "an", "the", "to", "of", "in", "on", "for", "and", "or", "is", "it", "be", "this", "that", "with", "as", "at", "by", "from", "we", "i", "you", "can", "please", "do", "make", "so", "if", "not"])


@dataclass(frozen=True)
class Signal:
    kind: str
    ref: str
    ts: float
    session_id: str
    run_id: str
    evidence: str


@dataclass(frozen=True)
class UserTurn:
    """One thing the user said: a run's prompt, or a later message in the same run."""

    index: int
    run_id: str
    ts: float
    text: str


def make_ref(*parts: object) -> str:
    """A stable short id from its parts (the same parts always give the same ref)."""
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def session_of(events: Sequence[Mapping[str, Any]]) -> str:
    for event in events:
        if event.get("type") == "run_started" and event.get("session_id"):
            return str(event["session_id"])
    return str(events[0].get("run_id", "")) if events else ""


def user_turns(events: Sequence[Mapping[str, Any]]) -> list[UserTurn]:
    """The user's turns: each run's prompt once (its `user_message` echo is the same turn)."""
    turns: list[UserTurn] = []
    prompts: dict[str, str] = {}
    for event in events:
        kind, run_id = event.get("type"), str(event.get("run_id", ""))
        if kind == "run_started":
            prompts[run_id] = str(event.get("prompt", ""))
            turns.append(UserTurn(len(turns), run_id, float(event.get("ts", 0.0)), prompts[run_id]))
        elif kind == "user_message":
            text = str(event.get("text", ""))
            if prompts.get(run_id) == text:
                prompts[run_id] = "\0"  # the echo of the prompt: seen once, a later identical message counts
                continue
            turns.append(UserTurn(len(turns), run_id, float(event.get("ts", 0.0)), text))
    return [t for t in turns if t.text.strip()]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def similarity(a: str, b: str) -> float:
    """How much two prompts ask the same thing: max of Jaccard and containment of the shorter one."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    common = len(wa & wb)
    jaccard = common / len(wa | wb)
    # Containment only counts for prompts with some substance: "add a test" is in everything.
    containment = common / min(len(wa), len(wb)) if min(len(wa), len(wb)) >= 4 else 0.0
    return max(jaccard, 0.8 * containment)


def _is_repeatable(text: str) -> bool:
    return not phrases.is_trivial(text) and len(_words(text)) >= 3


def _signal(kind: str, session: str, event: Mapping[str, Any], evidence: str, *identity: object) -> Signal:
    run_id = str(event.get("run_id", ""))
    ts = float(event.get("ts", 0.0))
    return Signal(kind, make_ref(kind, session, run_id, event.get("type"), repr(ts), *identity), ts, session,
                  run_id, evidence[:500])


def _turn_signal(kind: str, session: str, turn: UserTurn, evidence: str) -> Signal:
    ref = make_ref(kind, session, turn.run_id, "turn", repr(turn.ts), turn.index)
    return Signal(kind, ref, turn.ts, session, turn.run_id, evidence[:500])


def detect_repeats(events: Sequence[Mapping[str, Any]], *, threshold: float = REPEAT_THRESHOLD) -> list[Signal]:
    """A user prompt that asks again what an earlier prompt of the session asked."""
    session, out = session_of(events), []
    turns = user_turns(events)
    for j, turn in enumerate(turns):
        if not _is_repeatable(turn.text):
            continue
        for earlier in turns[:j]:
            if _is_repeatable(earlier.text) and similarity(earlier.text, turn.text) >= threshold:
                out.append(_turn_signal("repeated_request", session, turn, turn.text))
                break
    return out


def _edit_before(events: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    """run_id -> whether the agent had changed files (in this or an earlier run) before that run began."""
    seen, edited = False, {}
    for event in events:
        if event.get("type") == "run_started":
            edited[str(event.get("run_id", ""))] = seen
        elif event.get("type") in ("commit", "file_changed"):
            seen = True
    return edited


def detect_complaints(events: Sequence[Mapping[str, Any]]) -> list[Signal]:
    """Complaints in the user's words, and pasted failures after the agent edited something.

    The first turn of a session is never a complaint: there is nothing of the agent's to complain about.
    """
    session, out = session_of(events), []
    edited = _edit_before(events)
    for turn in user_turns(events)[1:]:
        phrase = phrases.complaint_phrase(turn.text)
        if not phrase and edited.get(turn.run_id, True):
            phrase = phrases.failure_paste(turn.text)
        if phrase:
            out.append(_turn_signal("complaint", session, turn, turn.text))
    return out


def detect_success_words(events: Sequence[Mapping[str, Any]]) -> list[Signal]:
    session = session_of(events)
    return [_turn_signal("success", session, turn, turn.text) for turn in user_turns(events)[1:]
            if phrases.success_phrase(turn.text)]


def detect_check_signals(events: Sequence[Mapping[str, Any]]) -> list[Signal]:
    """`same_failure`: a failing check's signature seen before in the session.
    `checks_passed`: a check passing (a good moment; the episode machine decides what it ends)."""
    session, out = session_of(events), []
    seen: dict[str, int] = {}
    for event in events:
        if event.get("type") != "test_result":
            continue
        check = str(event.get("check", ""))
        if event.get("passed"):
            out.append(_signal("checks_passed", session, event, f"{check} passed", check))
            continue
        signature = str(event.get("signature", ""))
        if not signature:
            continue
        seen[signature] = seen.get(signature, 0) + 1
        if seen[signature] > 1:
            out.append(_signal("same_failure", session, event, signature, signature, seen[signature]))
    return out


def detect_events(events: Sequence[Mapping[str, Any]]) -> list[Signal]:
    """Signals that are events already: feedback, undo, correction notes."""
    session, out = session_of(events), []
    for event in events:
        kind = event.get("type")
        if kind == "feedback":
            rating = str(event.get("rating", ""))
            if rating in ("up", "down"):
                name = "thumbs_up" if rating == "up" else "thumbs_down"
                out.append(_signal(name, session, event, str(event.get("comment", "")) or rating))
        elif kind == "undo":
            shas = [str(s) for s in event.get("shas", [])]
            reason = str(event.get("reason", ""))
            out.append(_signal("undo", session, event, reason or " ".join(shas), *sorted(shas)))
        elif kind == "note":
            out.append(_signal("correction", session, event, str(event.get("text", ""))))
    return out


def _pair_key(call: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    return json.dumps([call.get("name"), call.get("input"), result.get("is_error"), result.get("output")],
                      sort_keys=True, default=str)


def detect_self_loops(events: Sequence[Mapping[str, Any]], *, length: int = LOOP_LENGTH) -> list[Signal]:
    """The agent repeating the same tool call with the same result `length` times in a row, per run."""
    session, out = session_of(events), []
    calls: dict[str, Mapping[str, Any]] = {}
    streak: dict[str, tuple[str, int]] = {}
    for event in events:
        kind, run_id = event.get("type"), str(event.get("run_id", ""))
        if kind == "tool_call":
            calls[str(event.get("tool_use_id", ""))] = event
        elif kind == "tool_result":
            call = calls.get(str(event.get("tool_use_id", "")))
            if call is None:
                continue
            key = _pair_key(call, event)
            previous, count = streak.get(run_id, ("", 0))
            count = count + 1 if key == previous else 1
            streak[run_id] = (key, count)
            if count == length:  # once per streak, at the length-th repeat
                evidence = f"{call.get('name')} x{length}: {str(event.get('output', ''))[:200]}"
                out.append(_signal("self_loop", session, event, evidence, call.get("tool_use_id")))
    return out


def detect_abandonment(events: Sequence[Mapping[str, Any]], found: Sequence[Signal]) -> list[Signal]:
    """The session ended while stuck: its last signal is negative, or its last run failed after one."""
    if not events or not found:
        return []
    ordered = sorted(found, key=lambda s: s.ts)
    last = ordered[-1]
    last_run = next((e for e in reversed(events) if e.get("type") in ("run_finished", "cancelled")), None)
    run_failed = last_run is not None and (
        last_run.get("type") == "cancelled" or str(last_run.get("status", "")) in _FAILED_STATUSES)
    negative = last.kind in NEGATIVE_KINDS
    if not negative and not (run_failed and any(s.kind in NEGATIVE_KINDS for s in ordered)):
        return []
    end = events[-1]
    evidence = f"ended after {last.kind}: {last.evidence[:200]}"
    return [_signal("abandonment", last.session_id, end, evidence, last.ref)]


def detect_signals(events: Sequence[Mapping[str, Any]], *, session_ended: bool = True) -> list[Signal]:
    """All signals of one session, in time order. `session_ended=False` skips abandonment
    (a live session is not abandoned yet)."""
    found = (detect_repeats(events) + detect_complaints(events) + detect_success_words(events)
             + detect_check_signals(events) + detect_events(events) + detect_self_loops(events))
    if session_ended:
        found += detect_abandonment(events, found)
    order = {id(s): i for i, s in enumerate(found)}
    return sorted(found, key=lambda s: (s.ts, order[id(s)]))
