"""Rated responses as fine-tuning data: jsonl (generic), anthropic, openai. Redacted again on the way out.

An example is the conversation before a rated response (the prompt context) and that
response (the completion), with its rating and a weight: 1 / (examples kept from the same
session), so one long session does not outweigh many short ones.

- `jsonl`: {"prompt": [messages], "completion": message, "rating", "label", "weight", ...}.
- `anthropic`: {"system", "messages"}, Messages API shape, ending with the rated response;
  it has no place for a rating, so only thumbs-up responses are written.
- `openai`: chat fine-tuning {"messages": [...]}, earlier assistant turns carry weight 0 so
  only the rated response is learned. With --include-negative the file is in the preference
  format instead: {"input": {"messages"}, "preferred_output", "non_preferred_output"}, pairing
  a thumbs-down response with the answer the user went on with (the next response in the same
  session not rated down).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from once.corrections.feedback import Rating, latest_ratings, load_ratings
from once.providers.openai_convert import to_openai_messages
from once.safety.redact import redact_obj

FORMATS = ("jsonl", "anthropic", "openai")
Transcript = list[tuple[str, dict[str, Any]]]
"""A session's messages in order, each with the run that wrote it."""


@dataclass
class Example:
    rating: Rating
    context: list[dict[str, Any]]
    completion: dict[str, Any]
    preferred: dict[str, Any] | None = None
    weight: float = 1.0


@dataclass
class ExportSummary:
    format: str
    written: int = 0
    positive: int = 0
    negative: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    out: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------- pure


def build_example(rating: Rating, transcript: Transcript) -> Example | None:
    """The rated response (turn N = the run's Nth assistant message; None = its last) and what came before."""
    positions = [i for i, (run_id, message) in enumerate(transcript)
                 if run_id == rating.run_id and message.get("role") == "assistant"]
    if not positions:
        return None
    turn = rating.turn
    index = positions[turn - 1] if turn is not None and 1 <= turn <= len(positions) else positions[-1]
    context = [message for _, message in transcript[:index]]
    if not context or context[0].get("role") != "user":
        return None
    return Example(rating=rating, context=context, completion=transcript[index][1])


def preferred_answer(rating: Rating, transcript: Transcript, rated_down: set[str]) -> dict[str, Any] | None:
    """The last response of the next run of the session that was not rated down."""
    runs: list[str] = []
    for run_id, _ in transcript:
        if run_id not in runs:
            runs.append(run_id)
    if rating.run_id not in runs:
        return None
    for run_id in runs[runs.index(rating.run_id) + 1:]:
        if run_id in rated_down:
            continue
        answers = [m for r, m in transcript if r == run_id and m.get("role") == "assistant"]
        if answers:
            return answers[-1]
    return None


def _balanced(examples: list[Example], filtered: Counter[str]) -> list[Example]:
    """As many positives as negatives: the most recent of the larger class are kept."""
    up = [e for e in examples if e.rating.rating == "up"]
    down = [e for e in examples if e.rating.rating == "down"]
    keep = min(len(up), len(down))
    dropped = [e for side in (up, down) for e in side[:len(side) - keep]]
    filtered["dropped to balance up and down"] += len(dropped)
    gone = {id(e) for e in dropped}
    return [e for e in examples if id(e) not in gone]


def balance_applies(fmt: str, include_negative: bool) -> bool:
    """Only the jsonl format mixes both ratings; openai preference pairs are balanced by construction."""
    return fmt == "jsonl" and include_negative


def choose(examples: list[Example], fmt: str, *, include_negative: bool, balance: bool,
           filtered: Counter[str]) -> list[Example]:
    """Which examples the format and flags keep (the rest counted in `filtered` by reason); weights set."""
    kept: list[Example] = []
    for example in examples:
        negative = example.rating.rating == "down"
        if negative and not include_negative:
            filtered["thumbs-down (add --include-negative)"] += 1
        elif negative and fmt == "anthropic":
            filtered["thumbs-down: the anthropic format has no rating (use jsonl or openai)"] += 1
        elif fmt == "openai" and include_negative and not negative:
            filtered["thumbs-up: the preference format needs a thumbs-down to pair with"] += 1
        elif fmt == "openai" and negative and example.preferred is None:
            filtered["thumbs-down with no later answer to prefer"] += 1
        else:
            kept.append(example)
    if balance and balance_applies(fmt, include_negative):
        kept = _balanced(kept, filtered)
    sessions = Counter(e.rating.session_id for e in kept)
    for example in kept:
        example.weight = round(1.0 / sessions[example.rating.session_id], 6)
    return kept


def _openai_sft(system: str, example: Example) -> dict[str, Any]:
    messages = to_openai_messages(system, example.context + [example.completion])
    assistants = [m for m in messages if m["role"] == "assistant"]
    for message in assistants:
        message["weight"] = 1 if message is assistants[-1] else 0
    return {"messages": messages}


def render(example: Example, fmt: str, system: str) -> dict[str, Any]:
    """One line of the chosen format (not yet redacted)."""
    if fmt == "anthropic":
        return {"system": system, "messages": example.context + [example.completion]}
    if fmt == "openai" and example.preferred is not None and example.rating.rating == "down":
        return {"input": {"messages": to_openai_messages(system, example.context)},
                "preferred_output": to_openai_messages("", [example.preferred]),
                "non_preferred_output": to_openai_messages("", [example.completion])}
    if fmt == "openai":
        return _openai_sft(system, example)
    rating = example.rating
    return {"prompt": example.context, "completion": example.completion, "rating": rating.rating,
            "label": 1 if rating.rating == "up" else 0, "weight": example.weight, "comment": rating.comment,
            "model": rating.model, "run_id": rating.run_id, "session_id": rating.session_id, "turn": rating.turn}


# ---------------------------------------------------------------- edge


def transcript(conn: sqlite3.Connection, session_id: str) -> Transcript:
    rows = conn.execute("SELECT run_id, role, content FROM messages WHERE session_id = ? ORDER BY id",
                        (session_id,)).fetchall()
    return [(row["run_id"], {"role": row["role"], "content": json.loads(row["content"])}) for row in rows]


def export_lines(conn: sqlite3.Connection, repo: str | None, fmt: str, *, system: str,
                 include_negative: bool = False, balance: bool = False) -> tuple[list[str], ExportSummary]:
    """The JSONL lines to write and what was written and left out, and why."""
    ratings, superseded = latest_ratings(load_ratings(conn, repo))
    filtered: Counter[str] = Counter()
    if superseded:
        filtered["rated again later (the latest rating counts)"] += superseded
    rated_down = {r.run_id for r in ratings if r.rating == "down"}
    cache: dict[str, Transcript] = {}
    examples: list[Example] = []
    for rating in ratings:
        session = cache.setdefault(rating.session_id, transcript(conn, rating.session_id))
        example = build_example(rating, session)
        if example is None:
            filtered["no stored conversation for the rated response"] += 1
            continue
        if rating.rating == "down":
            example.preferred = preferred_answer(rating, session, rated_down)
        examples.append(example)
    kept = choose(examples, fmt, include_negative=include_negative, balance=balance, filtered=filtered)
    lines = [json.dumps(redact_obj(render(e, fmt, system)), ensure_ascii=False) for e in kept]
    summary = ExportSummary(format=fmt, written=len(kept), positive=sum(e.rating.rating == "up" for e in kept),
                            negative=sum(e.rating.rating == "down" for e in kept), filtered=dict(filtered))
    return lines, summary
