"""The project memory, `.once/memory.md`: corrections applied at once, audited, revertible.

Every change is a row of `memory_history` with the whole file before and after. When a new
correction contradicts an older line, the newer replaces it (the latest wins), the older
proposal becomes `superseded`, and both stay in the history: `conflicts()` lists them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from once.atomic import atomic_write_text
from once.corrections import repository
from once.corrections.proposals import MEMORY_FILE, MEMORY_SECTION, Proposal
from once.corrections.wording import contradicts, near_duplicate
from once.errors import UsageError
from once.safety.redact import redact
from once.store.db import transaction
from once.store.tables import database

TEMPLATE = (
    "# Project memory\n\n"
    "Corrections and preferences for this repository, kept by once from your notes (/note,\n"
    "`agent undo --reason`, rejected plans). Every run has this file in its context. Edit it\n"
    "freely; `agent memory history` shows every change and `agent memory revert ID` takes one back.\n"
)


@dataclass
class MemoryChange:
    id: str
    repo: str
    proposal_id: str
    action: str
    """apply or revert."""
    before: str
    after: str
    supersedes: str
    note: str
    ts: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Conflict:
    """A newer correction that replaced a contradicting older one (both kept in history)."""

    repo: str
    newer_id: str
    newer_text: str
    older_id: str
    older_text: str
    ts: float


# ---------------------------------------------------------------- pure edits


def section_lines(text: str, section: str) -> list[str]:
    """The bullet lines under `## section` (up to the next heading)."""
    inside, found = False, []
    for line in text.splitlines():
        if line.startswith("#"):
            inside = line.strip() == f"## {section}"
            continue
        if inside and line.startswith("- "):
            found.append(line)
    return found


def append_line(text: str, section: str, line: str) -> str:
    """`text` with `line` added at the end of `## section` (created, with the file, if missing)."""
    lines = (text or TEMPLATE).rstrip("\n").split("\n")
    header = f"## {section}"
    if header not in (item.strip() for item in lines):
        return "\n".join(lines) + f"\n\n{header}\n\n{line}\n"
    start = next(i for i, item in enumerate(lines) if item.strip() == header)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # after the section's last line, before the blank lines that end it
    lines.insert(end, line)
    return "\n".join(lines) + "\n"


def replace_line(text: str, old: str, new: str) -> str | None:
    """`text` with the line `old` swapped for `new` (or removed when `new` is ""); None if absent."""
    lines = text.split("\n")
    for index, item in enumerate(lines):
        if item.rstrip() == old.rstrip():
            if new:
                lines[index] = new
            else:
                del lines[index]
            return "\n".join(lines)
    return None


def plan_apply(text: str, line: str) -> tuple[str, str]:
    """(the new text, the line it replaces or "") for adding a correction to memory."""
    new_words = line.removeprefix("- ")
    for old in reversed(section_lines(text, MEMORY_SECTION)):
        old_words = old.removeprefix("- ")
        if near_duplicate(new_words, old_words):
            return text, old  # already there: nothing to change
        if contradicts(new_words, old_words):
            return replace_line(text, old, line) or text, old
    return append_line(text, MEMORY_SECTION, line), ""


# ---------------------------------------------------------------- files and rows


def memory_path(repo_root: Path) -> Path:
    return Path(repo_root) / MEMORY_FILE


def read_memory(repo_root: Path) -> str:
    path = memory_path(repo_root)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _insert_change(conn: sqlite3.Connection, change: MemoryChange) -> None:
    row = change.to_dict()
    for name in ("before", "after", "note"):
        row[name] = redact(row[name])
    database(conn)["memory_history"].insert(row)


def _owner_of(conn: sqlite3.Connection, repo: str, line: str) -> str:
    row = conn.execute("SELECT id FROM proposals WHERE repo = ? AND target = 'memory' AND body = ? AND status ="
                       " 'applied' ORDER BY created_at DESC LIMIT 1", (repo, line)).fetchone()
    return row["id"] if row else ""


def apply_memory(conn: sqlite3.Connection, repo_root: Path, proposal: Proposal, *, change_id: str,
                 now: float) -> MemoryChange:
    """Write a memory proposal into memory.md (replacing a line it contradicts) and audit it."""
    with transaction(conn):
        before = read_memory(repo_root)
        after, replaced = plan_apply(before, proposal.body)
        older = _owner_of(conn, proposal.repo, replaced) if replaced and after != before else ""
        change = MemoryChange(id=change_id, repo=proposal.repo, proposal_id=proposal.id, action="apply",
                              before=before, after=after, supersedes=older, note="", ts=now)
        _insert_change(conn, change)
        if replaced and after != before:
            conn.execute("UPDATE proposals SET op = 'replace', replaces = ? WHERE id = ?", (replaced, proposal.id))
        if older:
            repository.set_status(conn, older, "superseded", now=now, note=f"replaced by {proposal.id}")
        repository.set_status(conn, proposal.id, "applied", now=now, result=change_id,
                              note="already in memory.md" if after == before else "")
        if after != before:
            atomic_write_text(memory_path(repo_root), after)  # last: a failed write rolls the rows back
    return change


def _change_row(conn: sqlite3.Connection, repo: str, id_or_prefix: str) -> sqlite3.Row:
    """The `apply` change named by its own id or its proposal's id (a unique prefix is enough)."""
    rows = conn.execute(
        "SELECT * FROM memory_history WHERE repo = ? AND action = 'apply' AND (id >= ? AND id < ? OR"
        " proposal_id >= ? AND proposal_id < ?) ORDER BY ts DESC", (repo, id_or_prefix, id_or_prefix + "\U0010ffff",
                                                                    id_or_prefix, id_or_prefix + "\U0010ffff")).fetchall()
    exact = [row for row in rows if id_or_prefix in (row["id"], row["proposal_id"])]
    if exact or len({row["id"] for row in rows}) == 1:
        return (exact or rows)[0]
    if not rows:
        raise UsageError(f"no memory change '{id_or_prefix}' in this repository",
                         hint="`agent memory history` lists the changes and their ids.")
    raise UsageError(f"'{id_or_prefix}' matches more than one memory change", hint="Give more characters of the id.")


def _inverse(current: str, row: sqlite3.Row, proposal: Proposal) -> str:
    if current == row["after"]:
        return row["before"]
    undone = replace_line(current, proposal.body, proposal.replaces) if proposal.op == "replace" else None
    if undone is None and proposal.op != "replace":
        undone = replace_line(current, proposal.body, "")
    if undone is None:
        raise UsageError(f"the line of {proposal.id} is no longer in {MEMORY_FILE}, so there is nothing to revert",
                         hint=f"Edit {MEMORY_FILE} by hand; `agent memory history` shows what it said.")
    return undone


def revert_memory(conn: sqlite3.Connection, repo_root: Path, repo: str, id_or_prefix: str, *, change_id: str,
                  now: float, note: str = "") -> MemoryChange:
    """Take back one applied correction: its line leaves memory.md (a line it replaced comes
    back), the proposal is rejected and becomes an anti-lesson."""
    with transaction(conn):
        row = _change_row(conn, repo, id_or_prefix)
        proposal = repository.get_proposal(conn, row["proposal_id"], repo)
        if proposal.status != "applied":
            raise UsageError(f"{proposal.id} is {proposal.status}, not applied: there is nothing to revert")
        before = read_memory(repo_root)
        after = _inverse(before, row, proposal)
        change = MemoryChange(id=change_id, repo=repo, proposal_id=proposal.id, action="revert", before=before,
                              after=after, supersedes="", note=note or "reverted by the user", ts=now)
        _insert_change(conn, change)
        repository.set_status(conn, proposal.id, "rejected", now=now, note=change.note)
        repository.add_anti_lesson(conn, proposal, change.note, now)
        if row["supersedes"]:
            repository.set_status(conn, row["supersedes"], "applied", now=now, note=f"{proposal.id} was reverted")
        atomic_write_text(memory_path(repo_root), after)
    return change


def history(conn: sqlite3.Connection, repo: str, limit: int = 50) -> list[MemoryChange]:
    rows = conn.execute("SELECT * FROM memory_history WHERE repo = ? ORDER BY ts DESC, id DESC LIMIT ?",
                        (repo, limit)).fetchall()
    return [MemoryChange(**dict(zip(row.keys(), tuple(row)))) for row in rows]


def conflicts(conn: sqlite3.Connection, repo: str | None) -> list[Conflict]:
    """Corrections that contradicted an older one: the newer won, both are in the history."""
    where, params = ("AND h.repo = ?", (repo,)) if repo is not None else ("", ())
    rows = conn.execute(
        "SELECT h.repo, h.ts, n.id AS newer_id, n.body AS newer, o.id AS older_id, o.body AS older"
        " FROM memory_history h JOIN proposals n ON n.id = h.proposal_id JOIN proposals o ON o.id = h.supersedes"
        f" WHERE h.action = 'apply' AND h.supersedes != '' {where} ORDER BY h.ts", params).fetchall()
    return [Conflict(repo=row["repo"], newer_id=row["newer_id"], newer_text=row["newer"].removeprefix("- "),
                     older_id=row["older_id"], older_text=row["older"].removeprefix("- "), ts=row["ts"])
            for row in rows]
