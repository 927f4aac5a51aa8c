"""Tables of the knowledge bank (one migration; never edit it once it has shipped)."""

from __future__ import annotations

import sqlite3


def m005_knowledge(conn: sqlite3.Connection) -> None:
    # One row per knowledge entry. `repo` is NULL for global entries. `status` is one of
    # candidate, probation, active, demoted, pruned; `status_reason` says why it is there.
    conn.execute(
        """CREATE TABLE knowledge (
            id TEXT PRIMARY KEY,
            repo TEXT,
            scope TEXT NOT NULL,
            kind TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            knowledge TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT NOT NULL DEFAULT '',
            sources TEXT NOT NULL DEFAULT '[]',
            merged_count INTEGER NOT NULL DEFAULT 1,
            model TEXT NOT NULL DEFAULT '',
            tool_version TEXT NOT NULL DEFAULT '',
            holdout REAL NOT NULL DEFAULT 0.2,
            weight REAL NOT NULL DEFAULT 1.0,
            embedding BLOB,
            embedder TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_retrieved_at REAL
        )"""
    )
    conn.execute("CREATE INDEX knowledge_status ON knowledge (status, repo)")
    # Retrieval text (rowid = knowledge.rowid), ranked with bm25(). Kept with full detail:
    # detail=column measured slower to rank here and refuses multi-token phrases.
    conn.execute(
        "CREATE VIRTUAL TABLE knowledge_fts USING fts5(title, description, tokenize = 'porter unicode61')"
    )
    # One row per (entry, session, run) where the entry was retrieved: the arm the session
    # drew and, once evaluated, the outcome (1 success, 0 failure, NULL not yet known).
    # `holdout` is the probability of the holdout arm the draw used: the evaluation's test
    # needs it, and an entry's rate changes with its status.
    conn.execute(
        """CREATE TABLE exposures (
            id INTEGER PRIMARY KEY,
            entry_id TEXT NOT NULL REFERENCES knowledge(id),
            session_id TEXT NOT NULL,
            run_id TEXT NOT NULL,
            arm TEXT NOT NULL,
            score REAL NOT NULL,
            ts REAL NOT NULL,
            outcome INTEGER,
            holdout REAL,
            UNIQUE (entry_id, session_id, run_id)
        )"""
    )
    conn.execute("CREATE INDEX exposures_entry ON exposures (entry_id, arm)")
    conn.execute("CREATE INDEX exposures_session ON exposures (session_id)")
    # Stuck episodes found by `agent learn`, keyed by their stable ref so detection is idempotent.
    conn.execute(
        """CREATE TABLE episodes (
            ref TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            repo TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            data TEXT NOT NULL,
            entry_id TEXT
        )"""
    )
    # Small per-install values of the learning loop, e.g. the random salt of the holdout draw
    # (random per install, stable per (entry, session)).
    conn.execute("CREATE TABLE learn_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # Every status move of an entry (promote, demote, prune, probation on a version change).
    conn.execute(
        """CREATE TABLE knowledge_log (
            id INTEGER PRIMARY KEY,
            entry_id TEXT NOT NULL,
            ts REAL NOT NULL,
            action TEXT NOT NULL,
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        )"""
    )


def m009_evidence_order(conn: sqlite3.Connection) -> None:
    # When each exposure's outcome became known: the e-processes read rows in this order, so
    # an outcome that arrives late is appended to an entry's evidence, never inserted into its
    # past (NULL for outcomes recorded before this column: they come first, in exposure order).
    conn.execute("ALTER TABLE exposures ADD COLUMN known_at REAL")
    # The e-value an irreversible move (prune, skill_ready) was made with: later looks count the
    # entry among the bank's hypotheses at that value (e-BH).
    conn.execute("ALTER TABLE knowledge_log ADD COLUMN e_value REAL")
