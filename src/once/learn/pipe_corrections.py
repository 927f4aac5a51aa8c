"""The corrections stages of `agent learn`: what people said, and proven lessons made skills.

- scan: every correction (/note, a rejected plan's reason, undo --reason, a thumbs-down
  comment) in the repositories of the scanned sessions becomes a change proposal
  (`once.corrections.actions.scan`), so one command processes everything;
- skills: an entry whose benefit the e-process established becomes a pending `skill`
  proposal (written to .once/skills/ only on `agent proposals approve`), once; a rejected
  one is an anti-lesson and is not proposed again;
- conflicts: corrections that contradicted an older one in `.once/memory.md`.

Under dry run nothing is written: the scan and the proposals are previewed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Sequence


def scan_corrections(conn: sqlite3.Connection, repos: Sequence[str], dry_run: bool, now: Callable[[], float],
                     report: Any) -> None:
    """Run the corrections scan over each repository (those that still exist on disk)."""
    from once.corrections.actions import scan
    from once.errors import OnceError

    summary = report.corrections
    for repo in sorted(set(repos)):
        if not repo or not Path(repo).is_dir():
            continue  # a repository moved or deleted since: its memory file cannot be written
        try:
            result = scan(conn, repo, now=now, dry_run=dry_run)
        except OnceError as exc:
            summary.errors.append(f"{repo}: {exc}")
            continue
        summary.repos += 1
        summary.corrections += result.corrections
        summary.proposed += len(result.proposed)
        summary.applied += len(result.applied)
        for reason, refs in result.skipped.items():
            summary.skipped[reason] = summary.skipped.get(reason, 0) + len(refs)


def skill_candidates(conn: sqlite3.Connection, fresh: Sequence[str]) -> list[str]:
    """Entries ready to become a skill: logged as ready before (still active), or found ready now."""
    logged = [row[0] for row in conn.execute(
        "SELECT DISTINCT l.entry_id FROM knowledge_log l JOIN knowledge k ON k.id = l.entry_id"
        " WHERE l.action = 'skill_ready' AND k.status = 'active' ORDER BY l.entry_id")]
    return [*logged, *[entry_id for entry_id in fresh if entry_id not in logged]]


def propose_skills(conn: sqlite3.Connection, bank: Any, entry_ids: Sequence[str], repo: str | None,
                   evidence: dict[str, str], dry_run: bool, now: Callable[[], float], report: Any) -> None:
    """A pending skill proposal per ready entry, in its repository (a global entry: `repo`)."""
    from once.corrections.actions import propose_skill
    from once.learn.pipeline import EntryLine

    for entry_id in entry_ids:
        entry = bank.get(entry_id)
        if entry is None:
            continue
        where = entry.repo or repo
        if not where:
            report.skill_proposals.append(EntryLine(entry.id, entry.title, "not proposed",
                                                    "a global entry: run `agent learn` inside a repository"))
            continue
        why = evidence.get(entry.id) or entry.status_reason or "benefit established"
        if dry_run:
            proposal_id, reason = _preview(conn, where, entry, why, now)
        else:
            proposal_id, reason = propose_skill(conn, where, entry, evidence=why, now=now)
        if proposal_id is None and reason == "already proposed":
            continue  # proposed by an earlier run: nothing new to say
        if proposal_id is None:
            report.skill_proposals.append(EntryLine(entry.id, entry.title, "not proposed", reason))
            continue
        report.proposals_made += 1
        report.skill_proposals.append(EntryLine(entry.id, entry.title, "pending",
                                                f"proposal {proposal_id}: `agent proposals approve {proposal_id}`"
                                                " writes the skill"))


def _preview(conn: sqlite3.Connection, repo: str, entry: Any, evidence: str,
             now: Callable[[], float]) -> tuple[str | None, str]:
    """What `propose_skill` would do, without writing."""
    from once.corrections import repository
    from once.corrections.actions import blocked_by
    from once.corrections.proposals import draft_skill_from_entry

    proposal = draft_skill_from_entry(entry, repo=repo, proposal_id="(new)", now=now(), evidence=evidence)
    if proposal.signal_ref in repository.known_refs(conn, repo):
        return None, "already proposed"
    reason = blocked_by(proposal, repository.anti_lessons(conn, repo), repository.active_lessons(conn, repo, "skill"))
    return (None, reason) if reason is not None else (proposal.id, "")


def memory_conflicts(conn: sqlite3.Connection, since: float | None) -> list[str]:
    """Memory corrections that replaced a contradicting older one (since the last `agent learn`)."""
    from once.corrections.memory import conflicts

    lines = []
    for c in conflicts(conn, None):
        if since is not None and c.ts <= since:
            continue  # listed by an earlier run (whose scan stamped it with that run's time)
        lines.append(f"memory ({c.repo}/.once/memory.md): “{c.newer_text}” ({c.newer_id}) replaced the"
                     f" contradicting “{c.older_text}” ({c.older_id}); `agent memory history` shows both")
    return lines
