"""Stuck episodes: a pure state machine over one session's signals, and fixes inside one run.

Stuck starts when the weight of negative signals since the last good moment reaches a
threshold and they are not undos alone; it ends `resolved` (explicit success words, a thumbs-up, or checks passing /
a commit followed by `quiet_turns` user turns without a complaint) or `abandoned` (the
session ended while stuck). An optional judge (the small model) confirms a start and a
resolution; the heuristic decision is kept beside its verdict. No IO, clock or randomness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from once.learn.signals import NEGATIVE_KINDS, Signal, make_ref, session_of, user_turns

WEIGHTS = {"complaint": 1, "repeated_request": 1, "correction": 1, "same_failure": 1,
           "thumbs_down": 2, "undo": 2, "self_loop": 2}
START_THRESHOLD = 2
# Evidence that weighs in but never starts an episode alone: a lone /undo is as often a change
# of mind ("let's not do that after all") as a sign of being stuck.
_NOT_ALONE = frozenset({"undo"})
# Signals in the user's words are about the previous attempt, not the turn that carries them.
_ABOUT_PREVIOUS = ("complaint", "repeated_request", "correction")

Judge = Callable[[str], str]


@dataclass
class Episode:
    ref: str
    session_id: str
    status: str  # "open" | "resolved" | "abandoned"
    started_at: float
    ended_at: float | None
    signals: list[Signal]
    opening_prompt: str
    """The prompt of the turn where the user first got stuck (the first attempt)."""
    prompts: list[str]
    failure_signature: str
    corrective_text: str
    """The user's corrective words."""
    resolving_run_id: str | None
    resolving_commits: list[str]
    heuristic: str
    judge: str | None


@dataclass
class Insight:
    """A run in which a check failed and then passed: the fix is known."""

    ref: str
    session_id: str
    run_id: str
    failure_signature: str
    fix_summary: str
    files: list[str]
    prompt: str


@dataclass
class _Open:
    """An episode being built."""

    signals: list[Signal]
    pending: str = ""
    """Why it may be resolved ("checks passed", "commit") while quiet turns are counted."""
    pending_run: str | None = None
    quiet: int = 0
    judge_notes: list[str] = field(default_factory=list)


def _ask(judge: Judge | None, question: str, notes: list[str], label: str) -> bool:
    """The judge's yes/no, recorded; no judge (or a failing one) leaves the heuristic standing."""
    if judge is None:
        return True
    try:
        answer = judge(question).strip()
    except Exception as exc:  # noqa: BLE001 - the judge is a model call: any failure means heuristics decide
        notes.append(f"{label}: error ({type(exc).__name__})")
        return True
    notes.append(f"{label}: {answer[:200]}")
    return not answer.lower().startswith("no")


def _start_question(signals: Sequence[Signal]) -> str:
    lines = "\n".join(f"- {s.kind}: {s.evidence[:200]}" for s in signals)
    return ("Is the user of a coding agent stuck (the agent keeps failing at the same thing)? "
            f"Answer yes or no, then one sentence.\nSignals:\n{lines}")


def _end_question(signals: Sequence[Signal], how: str) -> str:
    lines = "\n".join(f"- {s.kind}: {s.evidence[:200]}" for s in signals[-6:])
    return (f"The user of a coding agent was stuck; then {how}. Is the problem solved? "
            f"Answer yes or no, then one sentence.\nSignals:\n{lines}")


class _Machine:
    """Walks one session's timeline (user turns, signals, commits) and closes episodes."""

    def __init__(self, events: Sequence[Mapping[str, Any]], judge: Judge | None, quiet_turns: int,
                 threshold: int) -> None:
        self.events, self.judge, self.quiet_turns, self.threshold = events, judge, quiet_turns, threshold
        self.session = session_of(events)
        self.turns = user_turns(events)
        self.pending_neg: list[Signal] = []
        self.open: _Open | None = None
        self.done: list[Episode] = []

    def timeline(self, signals: Sequence[Signal]) -> list[tuple[float, int, str, Any]]:
        # Same timestamp: the turn first, then the signals it carries, then commits.
        items: list[tuple[float, int, str, Any]] = [(t.ts, 0, "turn", t) for t in self.turns]
        items += [(s.ts, 1, "signal", s) for s in signals]
        items += [(float(e.get("ts", 0.0)), 2, "commit", e) for e in self.events
                  if e.get("type") == "commit" and e.get("kind", "agent") == "agent"]
        return sorted(items, key=lambda item: (item[0], item[1]))

    def on_turn(self) -> None:
        current = self.open
        if current is None or not current.pending:
            return
        if current.quiet >= self.quiet_turns:
            self.resolve(f"{current.pending}, then {current.quiet} quiet turns", current.pending_run)
        else:
            current.quiet += 1

    def on_commit(self, event: Mapping[str, Any]) -> None:
        if self.open is not None and not self.open.pending:
            self.open.pending, self.open.pending_run, self.open.quiet = "commit", str(event.get("run_id")), 0

    def on_signal(self, signal: Signal) -> None:
        current = self.open
        if signal.kind in NEGATIVE_KINDS:
            if current is not None:
                current.signals.append(signal)
                current.pending, current.pending_run, current.quiet = "", None, 0
                return
            self.pending_neg.append(signal)
            weight = sum(WEIGHTS.get(s.kind, 1) for s in self.pending_neg)
            if weight >= self.threshold and any(s.kind not in _NOT_ALONE for s in self.pending_neg):
                notes: list[str] = []
                if _ask(self.judge, _start_question(self.pending_neg), notes, "start"):
                    self.open = _Open(signals=list(self.pending_neg), judge_notes=notes)
                self.pending_neg = []
            return
        if current is None:
            if signal.kind != "abandonment":
                self.pending_neg = []  # a good moment: earlier grumbles do not add up
            return
        current.signals.append(signal)
        if signal.kind == "abandonment":
            self.close("abandoned", signal.ts, None, "session ended while stuck")
        elif signal.kind == "checks_passed":
            current.pending, current.pending_run, current.quiet = "checks passed", signal.run_id, 0
        elif signal.kind == "thumbs_up":
            self.resolve("thumbs-up", signal.run_id)
        elif signal.kind == "success":
            self.resolve("success words", self.previous_run(signal.run_id) or signal.run_id)

    def previous_run(self, run_id: str) -> str | None:
        runs = [t.run_id for t in self.turns]
        index = runs.index(run_id) if run_id in runs else -1
        return runs[index - 1] if index > 0 else None

    def resolve(self, how: str, run_id: str | None) -> None:
        current = self.open
        if current is None:
            return
        if _ask(self.judge, _end_question(current.signals, how), current.judge_notes, "end"):
            end = current.signals[-1].ts if current.signals else 0.0
            self.close("resolved", max(end, self.run_end(run_id)), run_id, how)
        else:
            current.pending, current.quiet = "", 0

    def run_end(self, run_id: str | None) -> float:
        stamps = [float(e.get("ts", 0.0)) for e in self.events if e.get("run_id") == run_id]
        return max(stamps, default=0.0)

    def close(self, status: str, ended_at: float | None, run_id: str | None, how: str) -> None:
        current = self.open
        if current is None:
            return
        self.done.append(_build(self, current, status, ended_at, run_id, how))
        self.open = None

    def finish(self, session_ended: bool) -> list[Episode]:
        current = self.open
        if current is not None:
            if current.pending and session_ended:
                self.resolve(f"{current.pending}, then the session ended quietly", current.pending_run)
            elif current.pending and current.quiet >= self.quiet_turns:
                self.resolve(f"{current.pending}, then {current.quiet} quiet turns", current.pending_run)
        if self.open is not None:
            if session_ended:
                self.close("abandoned", None, None, "session ended while stuck")
            else:
                self.done.append(_build(self, self.open, "open", None, None, ""))
        return self.done


def _turn_text(machine: _Machine, signal: Signal) -> tuple[int, str]:
    """(index of the attempt the signal is about, its prompt)."""
    for turn in machine.turns:
        if turn.run_id == signal.run_id:
            index = turn.index
            if signal.kind in _ABOUT_PREVIOUS and index > 0:
                index -= 1
            return index, machine.turns[index].text
    return 0, ""


def _build(machine: _Machine, current: _Open, status: str, ended_at: float | None, run_id: str | None,
           how: str) -> Episode:
    first = current.signals[0]
    start_index, opening = _turn_text(machine, first)
    start_ts = machine.turns[start_index].ts if machine.turns else first.ts
    end_ts = ended_at if ended_at is not None else float("inf")
    prompts = [t.text for t in machine.turns if start_ts <= t.ts <= end_ts]
    failing = [str(e.get("signature", "")) for e in machine.events
               if e.get("type") == "test_result" and not e.get("passed") and e.get("signature")
               and start_ts <= float(e.get("ts", 0.0)) <= end_ts]
    corrective = [s.evidence for s in current.signals if s.kind in ("complaint", "correction")]
    said = _resolving_words(machine, run_id) if status == "resolved" else ""
    if said and said != opening:
        corrective.append(said)  # what the user said that unstuck it, correction pattern or not
    commits = [str(e.get("sha")) for e in machine.events
               if e.get("type") == "commit" and run_id and e.get("run_id") == run_id
               and e.get("kind", "agent") == "agent"]
    weight = sum(WEIGHTS.get(s.kind, 1) for s in current.signals if s.kind in NEGATIVE_KINDS)
    kinds = "+".join(dict.fromkeys(s.kind for s in current.signals if s.kind in NEGATIVE_KINDS))
    heuristic = f"stuck: {kinds} (weight {weight})" + (f"; {status}: {how}" if how else "")
    return Episode(
        ref=make_ref("episode", machine.session, first.ref), session_id=machine.session, status=status,
        started_at=first.ts, ended_at=ended_at, signals=list(current.signals), opening_prompt=opening,
        prompts=prompts, failure_signature=failing[0] if failing else "",
        corrective_text="\n".join(dict.fromkeys(corrective)), resolving_run_id=run_id,
        resolving_commits=commits, heuristic=heuristic,
        judge="; ".join(current.judge_notes) if current.judge_notes else None,
    )


def _resolving_words(machine: _Machine, run_id: str | None) -> str:
    """The user's turn that started the resolving run ("you need to declare it in conftest.py"),
    unless it only says that it works."""
    from once.learn.phrases import success_phrase

    text = next((t.text for t in machine.turns if run_id and t.run_id == run_id), "")
    return "" if not text or success_phrase(text) else text


def find_episodes(events: Sequence[Mapping[str, Any]], signals: Sequence[Signal], *, quiet_turns: int = 2,
                  judge: Judge | None = None, threshold: int = START_THRESHOLD,
                  session_ended: bool | None = None) -> list[Episode]:
    """The stuck episodes of one session, oldest first.

    `session_ended` None infers it from the signals: detection marks an ended, stuck session
    with an `abandonment` signal. Pass it explicitly so an ended session's last fix counts.
    """
    if session_ended is None:
        session_ended = any(s.kind == "abandonment" for s in signals)
    machine = _Machine(events, judge, quiet_turns, threshold)
    for _, _, kind, item in machine.timeline(signals):
        if kind == "turn":
            machine.on_turn()
        elif kind == "commit":
            machine.on_commit(item)
        else:
            machine.on_signal(item)
    return machine.finish(session_ended)


def find_insights(events: Sequence[Mapping[str, Any]]) -> list[Insight]:
    """Runs in which a check failed and then passed: the failure, and what changed in between."""
    session = session_of(events)
    prompts = {str(e.get("run_id")): str(e.get("prompt", "")) for e in events if e.get("type") == "run_started"}
    failed: dict[tuple[str, str], Mapping[str, Any]] = {}
    changes: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    insights: list[Insight] = []
    for event in events:
        run_id, kind = str(event.get("run_id", "")), event.get("type")
        if kind in ("commit", "file_changed", "model_response"):
            for key in [k for k in changes if k[0] == run_id]:
                changes[key].append(event)
        if kind != "test_result":
            continue
        key = (run_id, str(event.get("check", "")))
        if not event.get("passed"):
            failed.setdefault(key, event)  # the first failure is the symptom
            changes.setdefault(key, [])
            continue
        first = failed.pop(key, None)
        if first is None:
            continue
        between = changes.pop(key, [])
        insights.append(_insight(session, run_id, first, between, prompts.get(run_id, "")))
    return insights


def _insight(session: str, run_id: str, failure: Mapping[str, Any], between: Sequence[Mapping[str, Any]],
             prompt: str) -> Insight:
    subjects = [str(e.get("subject", "")) for e in between if e.get("type") == "commit"]
    texts = [str(e.get("text", "")).strip() for e in between if e.get("type") == "model_response"]
    files: list[str] = []
    for event in between:
        names = event.get("files", []) if event.get("type") == "commit" else [event.get("path")]
        files += [str(n) for n in names if n and str(n) not in files]
    summary = "; ".join(s for s in subjects if s) or next((t for t in reversed(texts) if t), "")
    signature = str(failure.get("signature", "")) or str(failure.get("summary", ""))[:200]
    return Insight(ref=make_ref("insight", session, run_id, signature, repr(failure.get("ts"))),
                   session_id=session, run_id=run_id, failure_signature=signature,
                   fix_summary=summary[:500], files=files, prompt=prompt)
