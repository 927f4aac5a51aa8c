"""Change proposals: what a correction should change, and why. Pure drafting, no IO.

A correction is routed to one target:
- `memory` (`.once/memory.md`, in every run's context): confident, rule-like corrections
  (notes and undo reasons); applied at once, audited, revertible.
- `skill` (`.once/skills/<name>/SKILL.md`): procedures (several steps), or text starting
  with `skill:`; written only when approved.
- `knowledge` (a knowledge-bank entry on probation): less certain corrections (a rejected
  plan's reason, a /bad comment); kept only if measured to help.
A leading `memory:`, `skill:` or `knowledge:` in the text chooses the target explicitly.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from once.corrections.signals import Correction
from once.corrections.wording import fingerprint, topic_words, words

TARGETS: tuple[str, ...] = ("memory", "skill", "knowledge")
STATUSES: tuple[str, ...] = ("pending", "applied", "approved", "rejected", "superseded")
MEMORY_FILE = ".once/memory.md"
MEMORY_SECTION = "Corrections"
MEMORY_MIN_CONFIDENCE = 0.7
SKILL_NAME_WORDS = 4

_PREFIX = re.compile(r"^\s*(memory|skill|knowledge)\s*:\s*", re.IGNORECASE)
_STEP = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+\S")

_WHY = {
    "note": "You wrote this as a correction (/note) in run {run}: the agent should not need telling twice.",
    "undo_reason": "You undid the agent's commit in run {run} because of this.",
    "plan_rejected": "You rejected the agent's plan in run {run} for this reason.",
    "bad_comment": "You rated a response in run {run} down and said this.",
}
"""Why, per correction kind. Proposals from a measured knowledge entry (signal_kind
`knowledge_entry`) are drafted by `draft_skill_from_entry`."""


@dataclass
class Proposal:
    id: str
    repo: str
    target: str
    """memory, skill or knowledge."""
    target_key: str
    """What it changes (a memory line, a skill, an entry): one pending proposal per key."""
    op: str
    """append or replace."""
    location: str
    """The memory section, the skill's name, or the knowledge entry's title."""
    body: str
    confidence: float
    rationale: str
    """What problem this solves."""
    expected: str
    """What changes for the user."""
    proposed_by: str
    """user (their own words, as written) or agent (inferred from a reason)."""
    status: str = "pending"
    replaces: str = ""
    signal_kind: str = ""
    signal_ref: str | None = None
    run_id: str = ""
    session_id: str = ""
    fingerprint: str = ""
    result: str = ""
    """What applying it made: a skill's path, a knowledge entry's id, a memory history id."""
    note: str = ""
    created_at: float = 0.0
    decided_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def route(correction: Correction) -> tuple[str, str]:
    """(target, the text without an explicit `target:` prefix)."""
    match = _PREFIX.match(correction.text)
    if match:
        return match.group(1).lower(), correction.text[match.end():].strip()
    lines = [line for line in correction.text.splitlines() if line.strip()]
    if sum(1 for line in lines if _STEP.match(line)) >= 3:
        return "skill", correction.text
    if correction.confidence >= MEMORY_MIN_CONFIDENCE:
        return "memory", correction.text
    return "knowledge", correction.text


def skill_name(text: str) -> str:
    """A valid Agent Skills name from the correction's first topic words."""
    ordered = [w for w in words(text) if w in topic_words(text)]
    picked: list[str] = []
    for word in ordered:
        slug = re.sub(r"[^a-z0-9]+", "-", word).strip("-")
        if slug and slug not in picked:
            picked.append(slug)
        if len(picked) == SKILL_NAME_WORDS:
            break
    return ("-".join(picked) or "correction")[:64].strip("-")


def first_sentence(text: str, limit: int) -> str:
    line = " ".join(text.split())
    cut = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    return cut if len(cut) <= limit else cut[: limit - 1].rstrip() + "…"


def skill_document(name: str, text: str, source: str) -> str:
    """A whole SKILL.md: frontmatter (name, description) and the instructions."""
    summary = first_sentence(text, 300).replace('"', "'")
    topics = ", ".join(sorted(topic_words(text))[:6]) or "this repository"
    description = f"{summary} Use when a task in this repository involves {topics}."
    return (f"---\nname: {name}\ndescription: \"{description}\"\n---\n\n"
            f"# {name.replace('-', ' ').capitalize()}\n\n{text.strip()}\n\n_Learned from {source}._\n")


def _body(target: str, text: str, correction: Correction) -> tuple[str, str]:
    """(location, body) for the target."""
    if target == "memory":
        return MEMORY_SECTION, "- " + " ".join(text.split())
    if target == "skill":
        name = skill_name(text)
        return name, skill_document(name, text, f"a {correction.kind.replace('_', ' ')} in run {correction.run_id}")
    return first_sentence(text, 80), text.strip()


def _expected(target: str, location: str) -> str:
    if target == "memory":
        return f"Every later run in this repository has this in its context ({MEMORY_FILE}): no need to repeat it."
    if target == "skill":
        return (f"A skill '{location}' in .once/skills/: the agent loads it when a task fits its description, "
                f"or when you type /{location}.")
    return ("A knowledge entry on probation: shown to the agent when a task looks similar, and kept only if "
            "sessions with it go better than a random holdout without it.")


def draft(correction: Correction, *, repo: str, proposal_id: str, now: float) -> Proposal:
    """The proposal a correction makes (not yet checked against anti-lessons or memory)."""
    target, text = route(correction)
    location, body = _body(target, text, correction)
    print_key = fingerprint(target, text)
    key = f"skill:{location}" if target == "skill" else f"{target}:{print_key}"
    return Proposal(
        id=proposal_id, repo=repo, target=target, target_key=key, op="append", location=location, body=body,
        confidence=correction.confidence, rationale=_WHY[correction.kind].format(run=correction.run_id) + f" “{text}”",
        expected=_expected(target, location), proposed_by="user" if correction.kind == "note" else "agent",
        signal_kind=correction.kind, signal_ref=correction.ref, run_id=correction.run_id,
        session_id=correction.session_id, fingerprint=print_key, created_at=now,
    )


def lesson_text(proposal: Proposal) -> str:
    """The correction's words, for comparing proposals (a memory bullet without its dash)."""
    if proposal.target == "memory":
        return proposal.body.removeprefix("- ")
    if proposal.target == "skill":
        return proposal.rationale.split("“", 1)[-1].rstrip("”")
    return proposal.body


def entry_skill_document(name: str, title: str, description: str, knowledge: str, source: str) -> str:
    """A SKILL.md from a knowledge entry: when to use it (its symptoms), then its lesson."""
    when = first_sentence(description, 400).replace('"', "'")
    summary = first_sentence(title, 200).replace('"', "'").rstrip(".")
    text = f"{summary}. Use when {when[:1].lower() + when[1:]}" if when else f"{summary}."
    text = text if len(text) <= 1000 else text[:999].rstrip() + "…"
    return (f"---\nname: {name}\ndescription: \"{text}\"\n---\n\n"
            f"# {name.replace('-', ' ').capitalize()}\n\n{knowledge.strip()}\n\n_Learned from {source}._\n")


def draft_skill_from_entry(entry: Any, *, repo: str, proposal_id: str, now: float, evidence: str) -> Proposal:
    """The `skill` proposal for a knowledge entry whose benefit was established (pending until approved).

    Its `signal_ref` is the entry's, so it is proposed once per repository."""
    name = skill_name(f"{entry.title} {entry.knowledge}")
    source = f"knowledge entry {entry.id}, measured against a random holdout ({evidence})"
    body = entry_skill_document(name, entry.title, entry.description, entry.knowledge, source)
    lesson = " ".join(entry.knowledge.split())
    return Proposal(
        id=proposal_id, repo=repo, target="skill", target_key=f"skill:{name}", op="append", location=name, body=body,
        confidence=1.0, rationale=(f"Knowledge entry {entry.id} made sessions measurably better ({evidence}):"
                                   f" a proven lesson belongs in a skill. “{lesson}”"),
        expected=_expected("skill", name), proposed_by="agent", signal_kind="knowledge_entry",
        signal_ref=f"knowledge:{entry.id}", session_id="", fingerprint=fingerprint("skill", lesson), created_at=now,
    )
