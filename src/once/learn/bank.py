"""The knowledge bank: entries learned from earlier sessions, in SQLite.

A small repository over the `knowledge` tables (see `once.learn.schema`): every text is
redacted before it is written, the FTS5 row and the embedding are kept in step with the
entry, and every status move is logged. numpy is imported only when an embedding is
computed, so listing or showing entries stays light.
"""

from __future__ import annotations

import re

import json
import sqlite3
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

from once.errors import UsageError
from once.ids import new_id
from once.safety.redact import redact
from once.store.db import transaction
from once.store.tables import database

STATUSES = ("candidate", "probation", "active", "demoted", "pruned", "review", "blocked")
"""`review`: a teammate's entry waiting for a person here; `blocked`: one a person refused here."""
LIVE_STATUSES = ("probation", "active", "demoted")
"""Only these are retrieved and injected (demoted ones ranked last, held out at least half the
time, so they are still measured and can come back: see `once.learn.evaluate`)."""
SCOPES = ("project", "global")
KINDS = ("episode", "insight", "manual")
HOLDOUT_FLOOR = 0.10
DEFAULT_HOLDOUT = {"probation": 0.20, "active": 0.10}
"""A new or unproven entry is held out more often: its effect is not known yet."""
_MAX_CANDIDATES = 10


@dataclass
class KnowledgeEntry:
    """One row of `knowledge` (the embedding is the bank's business, not the caller's)."""

    title: str
    description: str
    """What retrieval matches: symptoms, error signature, framework, file kinds."""
    knowledge: str
    """What gets injected: the guidance that would have avoided the detour."""
    scope: str = "project"
    kind: str = "episode"
    repo: str | None = None
    """The repository root for project entries; None for global ones."""
    status: str = "candidate"
    status_reason: str = ""
    sources: list[str] = field(default_factory=list)
    merged_count: int = 1
    model: str = ""
    tool_version: str = ""
    holdout: float = DEFAULT_HOLDOUT["probation"]
    weight: float = 1.0
    embedder: str = ""
    id: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    last_retrieved_at: float | None = None
    author: str = ""
    """'' for this install's own entries, else the teammate whose entry was pulled from the team."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "KnowledgeEntry":
        values = {name: row[name] for name in _COLUMNS}
        values["sources"] = json.loads(values["sources"] or "[]")
        return cls(**values)

    def retrieval_text(self) -> str:
        return f"{self.title}\n{self.description}"


_COLUMNS = tuple(f.name for f in fields(KnowledgeEntry))
_TEXT_FIELDS = ("title", "description", "knowledge", "status_reason", "model", "tool_version", "author")


def validate(entry: KnowledgeEntry) -> None:
    """Refuse an entry the rest of the loop could not use, with a message that says why."""
    if entry.status not in STATUSES:
        raise UsageError(f"unknown status '{entry.status}'", hint=f"Use one of: {', '.join(STATUSES)}.")
    if entry.scope not in SCOPES:
        raise UsageError(f"unknown scope '{entry.scope}'", hint="Use project or global.")
    if entry.scope == "project" and not entry.repo:
        raise UsageError("a project entry needs its repository", hint="Give the repository, or make it global.")
    for name in ("title", "description", "knowledge"):
        if not getattr(entry, name).strip():
            raise UsageError(f"a knowledge entry needs a non-empty {name}")


def symptom_key(title: str) -> str:
    """An entry's title as a symptom key when it names an error ("KeyError: 'id'"), else "":
    entries with one key are lessons for one problem (alternatives, or the same one reworded)."""
    text = " ".join(title.lower().split())
    return text if re.search(r"\w(error|exception|warning)\b|\berror\b|^e\d{3,}", text) else ""


def holdout_for(status: str, stored: float | None = None) -> float:
    """The holdout rate of an entry: its stored rate or its status default, never below the floor."""
    rate = DEFAULT_HOLDOUT.get(status, DEFAULT_HOLDOUT["probation"]) if stored is None else stored
    return max(HOLDOUT_FLOOR, min(1.0, float(rate)))


class Bank:
    """Knowledge entries over an open, migrated connection."""

    def __init__(self, conn: sqlite3.Connection, *, embedder: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self._embedder = embedder
        self._clock = clock

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from once.learn.embed import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    # -- writing -------------------------------------------------------------

    def add(self, entry: KnowledgeEntry) -> str:
        """Store a new entry (redacted); returns its id."""
        now = self._clock()
        entry = _redacted(replace(entry, id=entry.id or new_id("k"), created_at=entry.created_at or now,
                                  updated_at=now, sources=list(entry.sources)))
        if entry.scope == "global":
            entry.repo = None
        validate(entry)
        blob = self._embed(entry)
        entry.embedder = self.embedder.name
        with transaction(self.conn) as conn:
            try:
                database(conn)["knowledge"].insert(_row(entry, blob))
            except sqlite3.IntegrityError:
                raise UsageError(f"a knowledge entry with id {entry.id} already exists") from None
            self._index(conn, entry)
            _log(conn, entry.id, now, "created", "", entry.status, entry.status_reason)
        return entry.id

    def add_many(self, entries: list[KnowledgeEntry], chunk: int = 2000) -> list[str]:
        """`add` for many entries (a team's bank pulled at once): embedded in batches, written in
        one transaction per chunk (one commit per entry made a 100,000-entry pull take minutes)."""
        ids: list[str] = []
        for start in range(0, len(entries), chunk):
            ids.extend(self._add_chunk(entries[start:start + chunk]))
        return ids

    def _add_chunk(self, entries: list[KnowledgeEntry]) -> list[str]:
        from once.learn.embed import vector_to_blob

        now = self._clock()
        ready = []
        for entry in entries:
            entry = _redacted(replace(entry, id=entry.id or new_id("k"), created_at=entry.created_at or now,
                                      updated_at=now, sources=list(entry.sources),
                                      repo=None if entry.scope == "global" else entry.repo))
            validate(entry)
            ready.append(entry)
        if not ready:
            return []
        vectors = self.embedder.embed([entry.retrieval_text() for entry in ready])
        rows = []
        for entry, vector in zip(ready, vectors):
            entry.embedder = self.embedder.name
            rows.append(_row(entry, vector_to_blob(vector)))
        ids = [entry.id for entry in ready]
        with transaction(self.conn) as conn:
            try:
                database(conn)["knowledge"].insert_all(rows)
            except sqlite3.IntegrityError:
                raise UsageError("a knowledge entry with one of these ids already exists") from None
            conn.execute(f"INSERT INTO knowledge_fts (rowid, title, description) SELECT rowid, title, description"
                         f" FROM knowledge WHERE id IN ({', '.join('?' for _ in ids)})", ids)
            bump_version(conn)
            conn.executemany("INSERT INTO knowledge_log (entry_id, ts, action, from_status, to_status, reason)"
                             " VALUES (?, ?, 'created', '', ?, ?)",
                             [(entry.id, now, entry.status, entry.status_reason) for entry in ready])
        return ids

    def update(self, entry: KnowledgeEntry) -> None:
        """Rewrite an entry's fields; the FTS row and embedding follow its text."""
        old = self.get(entry.id)
        if old is None:
            raise UsageError(f"no knowledge entry '{entry.id}'", hint="List them with `agent knowledge list`.")
        entry = _redacted(replace(entry, updated_at=self._clock(), sources=list(entry.sources)))
        if entry.scope == "global":
            entry.repo = None
        validate(entry)
        text_changed = old.retrieval_text() != entry.retrieval_text()
        blob = self._embed(entry) if text_changed or old.embedder != self.embedder.name else None
        if blob is not None:
            entry.embedder = self.embedder.name
        values = {k: v for k, v in _row(entry, blob).items() if k not in ("id", "created_at")}
        if blob is None:  # same text, same embedder: the stored embedding stays
            del values["embedding"]
        with transaction(self.conn) as conn:
            database(conn)["knowledge"].update(entry.id, values)
            if text_changed:
                self._index(conn, entry)
            bump_version(conn)
            if old.status != entry.status:
                _log(conn, entry.id, entry.updated_at, "edit", old.status, entry.status, entry.status_reason)

    def set_status(self, entry_id: str, status: str, reason: str, action: str) -> KnowledgeEntry:
        """Move an entry to `status` (its holdout follows the status default) and log the move."""
        if status not in STATUSES:
            raise UsageError(f"unknown status '{status}'", hint=f"Use one of: {', '.join(STATUSES)}.")
        entry = self._require(entry_id)
        now = self._clock()
        reason = redact(reason)
        holdout = holdout_for(status) if status in DEFAULT_HOLDOUT else entry.holdout
        with transaction(self.conn) as conn:
            conn.execute("UPDATE knowledge SET status = ?, status_reason = ?, holdout = ?, updated_at = ?"
                         " WHERE id = ?", (status, reason, holdout, now, entry.id))
            _log(conn, entry.id, now, action, entry.status, status, reason)
        return replace(entry, status=status, status_reason=reason, holdout=holdout, updated_at=now)

    def merge_into(self, target_id: str, sources: list[str]) -> KnowledgeEntry:
        """A near-duplicate joins an existing entry: its sources are added, merged_count grows."""
        entry = self._require(target_id)
        added = [s for s in sources if s not in entry.sources]
        merged = replace(entry, sources=entry.sources + added, merged_count=entry.merged_count + 1)
        self.update(merged)
        return self._require(target_id)

    def remove(self, entry_id: str) -> KnowledgeEntry:
        """Delete an entry, its FTS row and its exposures (the log keeps the removal)."""
        entry = self._require(entry_id)
        with transaction(self.conn) as conn:
            rowid = conn.execute("SELECT rowid FROM knowledge WHERE id = ?", (entry.id,)).fetchone()[0]
            conn.execute("DELETE FROM knowledge_fts WHERE rowid = ?", (rowid,))
            conn.execute("DELETE FROM exposures WHERE entry_id = ?", (entry.id,))
            conn.execute("DELETE FROM knowledge WHERE id = ?", (entry.id,))
            _log(conn, entry.id, self._clock(), "removed", entry.status, "removed", "")
        return entry

    # -- reading -------------------------------------------------------------

    def get(self, id_or_prefix: str) -> KnowledgeEntry | None:
        """An entry by id or unique id prefix; an ambiguous prefix is a UsageError."""
        if not id_or_prefix:
            return None
        rows = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM knowledge WHERE id = ?",
                                 (id_or_prefix,)).fetchall()
        if not rows:
            rows = self.conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM knowledge WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                (id_or_prefix, id_or_prefix + "\U0010ffff", _MAX_CANDIDATES + 1)).fetchall()
        if len(rows) > 1:
            ids = ", ".join(row["id"] for row in rows[:_MAX_CANDIDATES])
            raise UsageError(f"'{id_or_prefix}' matches more than one knowledge entry: {ids}",
                             hint="Give more characters of the id.")
        return KnowledgeEntry.from_row(rows[0]) if rows else None

    def list(self, status: str | None = None, repo: str | None = None, *,
             include_global: bool = True) -> list[KnowledgeEntry]:
        """Entries, newest first; `repo` keeps that repository's entries (and global ones)."""
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if repo is not None:
            clauses.append("(repo = ? OR repo IS NULL)" if include_global else "repo = ?")
            params.append(repo)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM knowledge {where}"
                                 " ORDER BY created_at DESC, id DESC", params).fetchall()
        return [KnowledgeEntry.from_row(row) for row in rows]

    def search(self, text: str, k: int = 10, *, repo: str | None = None,
               statuses: tuple[str, ...] | None = None) -> list[tuple[KnowledgeEntry, float]]:
        """Full-text search (FTS5, bm25; higher is better here), any status unless given."""
        from once.learn.retrieve import fts_query

        query = fts_query(text)
        if not query or k <= 0:
            return []
        clauses, params = ["knowledge_fts MATCH ?"], [query]
        if statuses:
            clauses.append(f"k.status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        if repo is not None:
            clauses.append("(k.repo = ? OR k.repo IS NULL)")
            params.append(repo)
        cols = ", ".join(f"k.{c}" for c in _COLUMNS)
        rows = self.conn.execute(
            f"SELECT {cols}, bm25(knowledge_fts) AS rank FROM knowledge_fts"
            f" JOIN knowledge k ON k.rowid = knowledge_fts.rowid WHERE {' AND '.join(clauses)}"
            " ORDER BY rank LIMIT ?", (*params, k)).fetchall()
        return [(KnowledgeEntry.from_row(row), -float(row["rank"])) for row in rows]

    def log(self, entry_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT ts, action, from_status, to_status, reason FROM knowledge_log"
                                 " WHERE entry_id = ? ORDER BY id", (entry_id,)).fetchall()
        return [dict(row) for row in rows]

    def exposure_counts(self, entry_id: str) -> dict[str, int]:
        rows = self.conn.execute("SELECT arm, COUNT(*) AS n FROM exposures WHERE entry_id = ? GROUP BY arm",
                                 (entry_id,)).fetchall()
        return {row["arm"]: int(row["n"]) for row in rows}

    # -- internals -----------------------------------------------------------

    def _require(self, entry_id: str) -> KnowledgeEntry:
        entry = self.get(entry_id)
        if entry is None:
            raise UsageError(f"no knowledge entry '{entry_id}'", hint="List them with `agent knowledge list`.")
        return entry

    def _embed(self, entry: KnowledgeEntry) -> bytes:
        from once.learn.embed import vector_to_blob

        return vector_to_blob(self.embedder.embed([entry.retrieval_text()])[0])

    @staticmethod
    def _index(conn: sqlite3.Connection, entry: KnowledgeEntry) -> None:
        # By hand rather than sqlite-utils' FTS triggers, which would re-index on every update.
        rowid = conn.execute("SELECT rowid FROM knowledge WHERE id = ?", (entry.id,)).fetchone()[0]
        conn.execute("DELETE FROM knowledge_fts WHERE rowid = ?", (rowid,))
        conn.execute("INSERT INTO knowledge_fts (rowid, title, description) VALUES (?, ?, ?)",
                     (rowid, entry.title, entry.description))


def _row(entry: KnowledgeEntry, embedding: bytes | None) -> dict[str, Any]:
    """The `knowledge` row of an entry: its fields, sources as JSON, and the embedding."""
    return {**entry.to_dict(), "sources": json.dumps(entry.sources), "embedding": embedding}


def _redacted(entry: KnowledgeEntry) -> KnowledgeEntry:
    """Nothing a secret scanner would flag reaches the bank."""
    changes = {name: redact(getattr(entry, name)) for name in _TEXT_FIELDS}
    return replace(entry, **changes, sources=[redact(s) for s in entry.sources])


def bump_version(conn: sqlite3.Connection) -> None:
    """A counter every change of entries moves: in-process caches of the bank compare it."""
    conn.execute("INSERT INTO learn_meta (key, value) VALUES ('bank_version', '1') ON CONFLICT (key)"
                 " DO UPDATE SET value = CAST(value AS INTEGER) + 1")


def _log(conn: sqlite3.Connection, entry_id: str, ts: float, action: str, old: str, new: str, reason: str) -> None:
    bump_version(conn)
    conn.execute("INSERT INTO knowledge_log (entry_id, ts, action, from_status, to_status, reason)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (entry_id, ts, action, old, new, reason))
