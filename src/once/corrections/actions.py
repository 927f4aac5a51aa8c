"""Turning corrections into proposals and carrying out decisions (IO at the edges).

`scan` reads a repository's correction events, drafts a proposal per new correction,
skips what an anti-lesson forbids or what is already pending or in force, and applies at
once what applies at once (memory; knowledge on probation). Skills wait for `approve`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from once.corrections import memory, repository
from once.corrections.proposals import Proposal, draft, lesson_text
from once.corrections.signals import detect_corrections
from once.corrections.wording import near_duplicate
from once.errors import UsageError
from once.ids import new_id
from once.safety.redact import redact
from once.store.db import transaction

CORRECTION_EVENT_TYPES = ("run_started", "note", "plan_decision", "undo", "feedback")


@dataclass
class ScanReport:
    corrections: int = 0
    proposed: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    already_seen: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Why a correction made no proposal ("anti-lesson", "duplicate") -> correction refs."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def repo_events(conn: sqlite3.Connection, repo: str) -> list[dict[str, Any]]:
    """The correction-bearing events of a repository's runs, oldest run first."""
    marks = ", ".join("?" for _ in CORRECTION_EVENT_TYPES)
    rows = conn.execute(f"SELECT e.data FROM events e JOIN runs r ON r.id = e.run_id WHERE r.repo = ? AND"
                        f" e.type IN ({marks}) ORDER BY r.started_at, r.id, e.seq",
                        (repo, *CORRECTION_EVENT_TYPES)).fetchall()
    return [json.loads(row[0]) for row in rows]


def blocked_by(proposal: Proposal, anti: list[dict[str, Any]], live: list[Proposal]) -> str | None:
    """Why this proposal must not be made ("anti-lesson", "duplicate"), or None. Pure."""
    text = lesson_text(proposal)
    for lesson in anti:
        if lesson["target"] == proposal.target and (lesson["fingerprint"] == proposal.fingerprint
                                                     or near_duplicate(text, lesson["body"])):
            return "anti-lesson"
    for other in live:
        if other.target_key == proposal.target_key or near_duplicate(text, lesson_text(other)):
            return "duplicate"
    return None


def scan(conn: sqlite3.Connection, repo: str, *, now: Callable[[], float] = time.time,
         make_id: Callable[[str], str] = new_id, dry_run: bool = False) -> ScanReport:
    """Propose a change for every correction in `repo` not seen before; idempotent.

    `dry_run`: say what would be proposed (ids are placeholders) and write nothing."""
    corrections = detect_corrections(repo_events(conn, repo))
    report = ScanReport(corrections=len(corrections))
    seen = repository.known_refs(conn, repo)
    previewed: list[Proposal] = []
    for correction in corrections:
        if correction.ref in seen:
            report.already_seen += 1
            continue
        proposal = draft(correction, repo=repo, proposal_id=make_id("p"), now=now())
        reason = blocked_by(proposal, repository.anti_lessons(conn, repo),
                            repository.active_lessons(conn, repo, proposal.target) + previewed)
        if reason is not None:
            report.skipped.setdefault(reason, []).append(correction.ref)
            continue
        if dry_run:
            previewed.append(proposal)
            report.proposed.append(proposal.id)
            continue
        if not repository.insert_proposal(conn, proposal):
            report.skipped.setdefault("duplicate", []).append(correction.ref)
            continue
        report.proposed.append(proposal.id)
        if proposal.target in ("memory", "knowledge"):
            carry_out(conn, Path(repo), proposal, now=now, make_id=make_id)
            report.applied.append(proposal.id)
    return report


def propose_skill(conn: sqlite3.Connection, repo: str, entry: Any, *, evidence: str,
                  now: Callable[[], float] = time.time, make_id: Callable[[str], str] = new_id) -> tuple[str | None, str]:
    """A pending `skill` proposal for a knowledge entry with established benefit.

    Returns (proposal id or None, why not): once per entry and repository ("already
    proposed"), never against an anti-lesson (a rejected one is not proposed again), never
    twice for the same skill ("duplicate")."""
    from once.corrections.proposals import draft_skill_from_entry

    proposal = draft_skill_from_entry(entry, repo=repo, proposal_id=make_id("p"), now=now(), evidence=evidence)
    if proposal.signal_ref in repository.known_refs(conn, repo):
        return None, "already proposed"
    reason = blocked_by(proposal, repository.anti_lessons(conn, repo), repository.active_lessons(conn, repo, "skill"))
    if reason is not None:
        return None, reason
    if not repository.insert_proposal(conn, proposal):
        return None, "duplicate"
    return proposal.id, ""


def carry_out(conn: sqlite3.Connection, repo_root: Path, proposal: Proposal, *,
              now: Callable[[], float] = time.time, make_id: Callable[[str], str] = new_id) -> str:
    """Apply a pending proposal to its target; returns what it made (history id, entry id, path)."""
    if proposal.target == "memory":
        return memory.apply_memory(conn, repo_root, proposal, change_id=make_id("mh"), now=now()).id
    if proposal.target == "knowledge":
        entry_id = _add_knowledge(conn, proposal)
        with transaction(conn):
            repository.set_status(conn, proposal.id, "applied", now=now(), result=entry_id)
        return entry_id
    from once.corrections.skills_writer import write_skill

    path = write_skill(repo_root, proposal.location, proposal.body)
    with transaction(conn):
        repository.set_status(conn, proposal.id, "approved", now=now(), result=str(path))
    return str(path)


def _add_knowledge(conn: sqlite3.Connection, proposal: Proposal) -> str:
    from once.learn.bank import Bank, KnowledgeEntry

    entry = KnowledgeEntry(
        title=proposal.location, description=proposal.body, knowledge=proposal.body, scope="project",
        kind="manual", repo=proposal.repo, status="probation",
        status_reason=f"from a correction ({proposal.signal_kind.replace('_', ' ')}), proposal {proposal.id}",
        sources=[f"proposal:{proposal.id}"] + ([f"run:{proposal.run_id}"] if proposal.run_id else []),
    )
    return Bank(conn).add(entry)


def approve(conn: sqlite3.Connection, repo_root: Path, id_or_prefix: str, *, note: str = "",
            now: Callable[[], float] = time.time, make_id: Callable[[str], str] = new_id) -> Proposal:
    proposal = repository.get_proposal(conn, id_or_prefix, str(repo_root))
    if proposal.status != "pending":
        raise UsageError(f"{proposal.id} is {proposal.status}, not pending: there is nothing to approve")
    carry_out(conn, repo_root, proposal, now=now, make_id=make_id)
    if note:
        with transaction(conn):
            conn.execute("UPDATE proposals SET note = ? WHERE id = ?", (redact(note), proposal.id))
    return repository.get_proposal(conn, proposal.id)


def reject(conn: sqlite3.Connection, repo_root: Path, id_or_prefix: str, *, note: str = "",
           now: Callable[[], float] = time.time, make_id: Callable[[str], str] = new_id) -> Proposal:
    """Reject a pending proposal, or take back an applied one; either way an anti-lesson."""
    repo = str(repo_root)
    proposal = repository.get_proposal(conn, id_or_prefix, repo)
    reason = note or "rejected by the user"
    if proposal.status == "applied" and proposal.target == "memory":
        memory.revert_memory(conn, repo_root, repo, proposal.id, change_id=make_id("mh"), now=now(), note=reason)
        return repository.get_proposal(conn, proposal.id)
    if proposal.status == "applied" and proposal.target == "knowledge" and proposal.result:
        from once.learn.bank import Bank

        Bank(conn).set_status(proposal.result, "pruned", f"proposal {proposal.id} rejected: {reason}", "rejected")
    elif proposal.status != "pending":
        raise UsageError(f"{proposal.id} is {proposal.status}: only pending or applied proposals can be rejected",
                         hint="An approved skill is a file: edit or delete it under .once/skills/.")
    with transaction(conn):
        repository.set_status(conn, proposal.id, "rejected", now=now(), note=reason)
        repository.add_anti_lesson(conn, proposal, reason, now())
    return repository.get_proposal(conn, proposal.id)
