"""Corrections from people, found in stored events. Pure: no IO, clock or randomness.

Four events carry a person's correction in their own words: a `/note` (type "note"), a
plan rejected with a reason ("plan_decision"), `agent undo --reason` ("undo") and a
thumbs-down with a comment ("feedback"). Each becomes a `Correction` whose `ref` is a hash
of what it is (kind, run, time, text), so detecting twice over the same events gives the
same refs and the proposals made from them are not made again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

KINDS: tuple[str, ...] = ("note", "undo_reason", "plan_rejected", "bad_comment")
CONFIDENCE: dict[str, float] = {"note": 0.9, "undo_reason": 0.75, "plan_rejected": 0.6, "bad_comment": 0.5}
"""How sure a correction is a lasting rule, by where it came from: a note is said on purpose,
an undo reason explains a concrete mistake, a plan rejection or a /bad comment may be about
that one answer only."""

BARE_VERDICTS = frozenset({"no", "nope", "wrong", "bad", "meh", "ugh", "incorrect", "broken", "not good", "no good",
                           "nah", "fail", "failed", "terrible", "awful", "bad answer", "wrong answer"})
"""Texts that say something was bad, not what: every other comment, however short ("too slow",
"use tabs"), says what the person wants instead and is a correction."""


@dataclass(frozen=True)
class Correction:
    kind: str
    """note, undo_reason, plan_rejected or bad_comment."""
    ref: str
    ts: float
    run_id: str
    session_id: str
    text: str
    model: str = ""

    @property
    def confidence(self) -> float:
        return CONFIDENCE.get(self.kind, 0.5)


def correction_ref(kind: str, run_id: str, ts: float, text: str) -> str:
    """Stable identity of one correction (same event -> same ref)."""
    key = "\x1f".join((kind, run_id, f"{float(ts):.6f}", text))
    return "c-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _text_of(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, the person's words) when the event is a correction, else None."""
    kind = event.get("type")
    if kind == "note":
        return "note", str(event.get("text") or "")
    if kind == "plan_decision" and event.get("decision") == "rejected":
        return "plan_rejected", str(event.get("reason") or "")
    if kind == "undo":
        return "undo_reason", str(event.get("reason") or "")
    if kind == "feedback" and event.get("rating") == "down":
        return "bad_comment", str(event.get("comment") or "")
    return None


def meaningful(text: str) -> bool:
    words = re.findall(r"[\w'-]+", text.lower())
    return bool(words) and " ".join(words) not in BARE_VERDICTS


def detect_corrections(events: Sequence[Mapping[str, Any]]) -> list[Correction]:
    """Every correction in `events` (stored event dicts of one or more runs, in time order)."""
    sessions: dict[str, tuple[str, str]] = {}
    found: list[Correction] = []
    for event in events:
        run_id = str(event.get("run_id") or "")
        if event.get("type") == "run_started":
            sessions[run_id] = (str(event.get("session_id") or ""), str(event.get("model") or ""))
            continue
        got = _text_of(event)
        if got is None:
            continue
        kind, raw = got
        text = " ".join(raw.split()) if kind != "note" else raw.strip()
        if not meaningful(text):
            continue
        ts = float(event.get("ts") or 0.0)
        session_id, model = sessions.get(run_id, ("", ""))
        model = str(event.get("model") or model)
        found.append(Correction(kind=kind, ref=correction_ref(kind, run_id, ts, text), ts=ts, run_id=run_id,
                                session_id=session_id, text=text, model=model))
    return found
