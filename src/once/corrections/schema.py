"""Tables of this feature (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m007_corrections(conn: sqlite3.Connection) -> None:
    # A change proposal made from a person's correction. `target` is memory, skill or
    # knowledge; `op` append or replace; `location` the file section, skill name or entry
    # title it changes; `replaces` the text a replace swaps out. `signal_ref` is the stable
    # ref of the correction it came from (NULL for proposals typed by hand), so a scan that
    # runs twice proposes nothing new. `fingerprint` is the normalized body, for duplicates
    # and anti-lessons. `status`: pending, applied, approved, rejected, superseded.
    conn.execute(
        """CREATE TABLE proposals (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            target TEXT NOT NULL,
            target_key TEXT NOT NULL,
            op TEXT NOT NULL,
            location TEXT NOT NULL,
            body TEXT NOT NULL,
            replaces TEXT NOT NULL DEFAULT '',
            confidence REAL NOT NULL,
            rationale TEXT NOT NULL,
            expected TEXT NOT NULL,
            proposed_by TEXT NOT NULL,
            status TEXT NOT NULL,
            signal_kind TEXT NOT NULL DEFAULT '',
            signal_ref TEXT,
            run_id TEXT NOT NULL DEFAULT '',
            session_id TEXT NOT NULL DEFAULT '',
            fingerprint TEXT NOT NULL,
            result TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            decided_at REAL
        )"""
    )
    conn.execute("CREATE UNIQUE INDEX proposals_signal ON proposals (repo, signal_ref) WHERE signal_ref IS NOT NULL")
    # One pending proposal per target at a time: a second one is skipped by INSERT OR IGNORE.
    conn.execute("CREATE UNIQUE INDEX proposals_pending ON proposals (repo, target_key) WHERE status = 'pending'")
    conn.execute("CREATE INDEX proposals_repo_status ON proposals (repo, status, created_at)")
    # A rejected proposal's fingerprint: never proposed again in this repository.
    conn.execute(
        """CREATE TABLE anti_lessons (
            id INTEGER PRIMARY KEY,
            repo TEXT NOT NULL,
            target TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            body TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            proposal_id TEXT NOT NULL,
            created_at REAL NOT NULL,
            UNIQUE (repo, fingerprint)
        )"""
    )
    # Every change to a repository's .once/memory.md, with the whole file before and after.
    # `action`: apply, revert or supersede; `supersedes` names the older proposal a newer,
    # contradicting correction replaced (the conflicts `agent learn` lists).
    conn.execute(
        """CREATE TABLE memory_history (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            proposal_id TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            before TEXT NOT NULL,
            after TEXT NOT NULL,
            supersedes TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT '',
            ts REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX memory_history_repo ON memory_history (repo, ts)")
