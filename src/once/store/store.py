"""The store: sessions, runs, their events and the conversation, in one SQLite file.

Everything written goes through `once.safety.redact` first: a credential that
reaches a prompt, a tool output or a message never reaches the disk.

Plain SQL, not sqlite-utils (`once.store.tables`): every run writes here, and importing
sqlite_utils would cost each run about 0.1 s and bring click and numpy with it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any

from once.errors import StoreError, UsageError
from once.events import Event
from once.ids import new_id
from once.paths import db_path
from once.process import process_alive
from once.safety.redact import redact, redact_obj
from once.store.db import connect, transaction
from once.store.migrations import migrate

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_MAX_CANDIDATES = 10
_SESSION_SELECT = """
    SELECT s.id, s.repo, s.title, s.created_at, s.updated_at,
        (SELECT COUNT(*) FROM runs r WHERE r.session_id = s.id) AS runs,
        (SELECT r.prompt FROM runs r WHERE r.session_id = s.id
            ORDER BY r.started_at, r.id LIMIT 1) AS first_prompt
    FROM sessions s"""


@dataclass
class RunRecord:
    """One row of `runs`."""

    id: str
    session_id: str | None
    repo: str
    prompt: str
    mode: str
    provider: str
    model: str
    status: str = "running"
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    result: str | None = None
    pid: int | None = None
    """The process running it (None for runs recorded before this column existed)."""
    commits: int = 0
    """Commits of the agent's own edits (wip commits not counted), kept current while it runs."""

    @property
    def usage(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in USAGE_KEYS}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "RunRecord":
        return cls(**{name: row[name] for name in _RUN_COLUMNS})


_RUN_COLUMNS = tuple(f.name for f in fields(RunRecord))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def _prefix_bounds(prefix: str) -> tuple[str, str]:
    """[prefix, prefix + max char): an index range scan instead of LIKE's scan."""
    return prefix, prefix + "\U0010ffff"


class Store:
    """A migrated connection with the operations once needs. Not a general ORM."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = connect(self.path)
        self._lock = threading.RLock()
        self._seq: dict[str, int] = {}
        try:
            migrate(self._conn)
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"Cannot migrate the once database at {self.path}: {exc}") from None
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The once database at {self.path} is closed.")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One locked transaction; SQLite failures become StoreError."""
        with self._lock:
            try:
                with transaction(self.conn) as conn:
                    yield conn
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                raise StoreError(f"Writing to the once database at {self.path} failed: {exc}") from None

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Reading the once database at {self.path} failed: {exc}") from None

    def _resolve(self, table: str, what: str, id_or_prefix: str) -> str | None:
        """Exact id, else the only id starting with the prefix; ambiguous -> UsageError."""
        if not id_or_prefix:
            return None
        if self._query(f"SELECT 1 FROM {table} WHERE id = ?", (id_or_prefix,)):
            return id_or_prefix
        low, high = _prefix_bounds(id_or_prefix)
        rows = self._query(
            f"SELECT id FROM {table} WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (low, high, _MAX_CANDIDATES + 1),
        )
        if len(rows) > 1:
            ids = [row["id"] for row in rows[:_MAX_CANDIDATES]]
            more = ", ..." if len(rows) > _MAX_CANDIDATES else ""
            raise UsageError(
                f"'{id_or_prefix}' matches more than one {what}: {', '.join(ids)}{more}. "
                "Give more characters of the id."
            )
        return rows[0]["id"] if rows else None

    # -- sessions ------------------------------------------------------------

    def create_session(self, repo: str, title: str | None = None) -> str:
        session_id = new_id("s")
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, repo, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, repo, None if title is None else redact(title), now, now),
            )
        return session_id

    def latest_session(self, repo: str) -> str | None:
        rows = self._query(
            "SELECT id FROM sessions WHERE repo = ? ORDER BY updated_at DESC, id DESC LIMIT 1", (repo,)
        )
        return rows[0]["id"] if rows else None

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        resolved = self._resolve("sessions", "session", session_id)
        if resolved is None:
            return None
        rows = self._query(f"{_SESSION_SELECT} WHERE s.id = ?", (resolved,))
        return dict(rows[0]) if rows else None

    def list_sessions(self, repo: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        where, params = ("WHERE s.repo = ?", (repo,)) if repo is not None else ("", ())
        rows = self._query(
            f"{_SESSION_SELECT} {where} ORDER BY s.updated_at DESC, s.id DESC LIMIT ?", (*params, limit)
        )
        return [dict(row) for row in rows]

    def _touch_session(self, conn: sqlite3.Connection, session_id: str | None, when: float) -> None:
        if session_id is not None:
            conn.execute(
                "UPDATE sessions SET updated_at = MAX(updated_at, ?) WHERE id = ?", (when, session_id)
            )

    # -- runs ----------------------------------------------------------------

    def start_run(self, run: RunRecord) -> None:
        values = run.to_dict()
        values["prompt"] = redact(run.prompt)
        values["result"] = None if run.result is None else redact(run.result)
        columns = ", ".join(_RUN_COLUMNS)
        marks = ", ".join("?" for _ in _RUN_COLUMNS)
        try:
            with self._write() as conn:
                conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})",
                             tuple(values[c] for c in _RUN_COLUMNS))
                self._touch_session(conn, run.session_id, run.started_at)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"Cannot record run {run.id}: {exc}") from None

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        turns: int,
        usage: dict[str, int],
        cost_usd: float,
        result: str | None,
    ) -> None:
        now = time.time()
        tokens = [int(usage.get(key, 0) or 0) for key in USAGE_KEYS]
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, turns = ?, input_tokens = ?,"
                " output_tokens = ?, cache_creation_input_tokens = ?, cache_read_input_tokens = ?,"
                " cost_usd = ?, result = ? WHERE id = ?",
                (status, now, turns, *tokens, cost_usd, None if result is None else redact(result), run_id),
            )
            if cursor.rowcount == 0:
                raise StoreError(f"Cannot finish run {run_id}: no such run.")
            row = conn.execute("SELECT session_id FROM runs WHERE id = ?", (run_id,)).fetchone()
            self._touch_session(conn, row["session_id"], now)

    def record_progress(self, run_id: str, *, turns: int, usage: dict[str, int], cost_usd: float,
                        commits: int) -> None:
        """The counters of a run still going: written as it goes, so a killed run shows them."""
        tokens = [int(usage.get(key, 0) or 0) for key in USAGE_KEYS]
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET turns = ?, input_tokens = ?, output_tokens = ?, cache_creation_input_tokens = ?,"
                " cache_read_input_tokens = ?, cost_usd = ?, commits = ? WHERE id = ? AND status = 'running'",
                (turns, *tokens, cost_usd, commits, run_id),
            )

    def reap_dead_runs(self) -> int:
        """Runs still `running` whose process is gone (killed, crashed) become `killed`; how many."""
        with self._lock:
            rows = self.conn.execute("SELECT id, pid FROM runs WHERE status = 'running' AND pid IS NOT NULL").fetchall()
        dead = [row["id"] for row in rows if not process_alive(row["pid"])]
        for run_id in dead:
            with self._write() as conn:
                conn.execute("UPDATE runs SET status = 'killed', finished_at = COALESCE(finished_at, ?)"
                             " WHERE id = ? AND status = 'running'", (time.time(), run_id))
        return len(dead)

    def mark_interrupted(self, run_id: str) -> bool:
        """Mark a run still `running` (its process died) as `interrupted`; True if it was."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?)"
                " WHERE id = ? AND status = 'running'",
                (time.time(), run_id),
            )
            return cursor.rowcount > 0

    def get_run(self, run_id_or_prefix: str) -> RunRecord | None:
        resolved = self._resolve("runs", "run", run_id_or_prefix)
        if resolved is None:
            return None
        rows = self._query("SELECT * FROM runs WHERE id = ?", (resolved,))
        return RunRecord.from_row(rows[0]) if rows else None

    def latest_run(self, repo: str | None = None) -> RunRecord | None:
        runs = self.list_runs(repo, limit=1)
        return runs[0] if runs else None

    def list_runs(
        self, repo: str | None = None, limit: int = 20, session_id: str | None = None
    ) -> list[RunRecord]:
        clauses, params = [], []
        if repo is not None:
            clauses.append("repo = ?")
            params.append(repo)
        if session_id is not None:
            clauses.append("session_id = ?")
            params.append(session_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(
            f"SELECT * FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return [RunRecord.from_row(row) for row in rows]

    # -- events --------------------------------------------------------------

    def _max_seq(self, run_id: str) -> int:
        rows = self._query("SELECT MAX(seq) FROM events WHERE run_id = ?", (run_id,))
        return int(rows[0][0] or 0)

    def append_event(self, event: Event) -> None:
        """Store one event in its own transaction, so a killed process loses nothing written."""
        data = _dumps(redact_obj(event.to_dict()))
        with self._lock:
            if event.run_id not in self._seq:
                self._seq[event.run_id] = self._max_seq(event.run_id)
            for _attempt in range(3):
                seq = self._seq[event.run_id] + 1
                try:
                    with self._write() as conn:
                        conn.execute(
                            "INSERT INTO events (run_id, seq, type, ts, data) VALUES (?, ?, ?, ?, ?)",
                            (event.run_id, seq, event.type, event.ts, data),
                        )
                except sqlite3.IntegrityError as exc:
                    if "UNIQUE" not in str(exc):
                        raise StoreError(
                            f"Cannot record a {event.type} event for run {event.run_id}: {exc}"
                            " (was the run started?)"
                        ) from None
                    # Another connection wrote to this run meanwhile: continue after its events.
                    self._seq[event.run_id] = self._max_seq(event.run_id)
                    continue
                self._seq[event.run_id] = seq
                return
        raise StoreError(f"Cannot record a {event.type} event for run {event.run_id}: seq conflict.")

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT data FROM events WHERE run_id = ? ORDER BY seq", (run_id,))
        return [json.loads(row["data"]) for row in rows]

    # -- conversation --------------------------------------------------------

    def append_message(self, session_id: str, run_id: str, role: str, content: list[dict[str, Any]]) -> None:
        data = _dumps(redact_obj(content))
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO messages (session_id, run_id, seq, role, content) VALUES (?, ?,"
                    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?), ?, ?)",
                    (session_id, run_id, session_id, role, data),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"Cannot record a message for session {session_id}: {exc}") from None

    def session_messages(self, session_id: str) -> list[dict[str, Any]]:
        """The conversation so far, oldest first, in Messages API shape."""
        rows = self._query(
            "SELECT role, content FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [{"role": row["role"], "content": json.loads(row["content"])} for row in rows]


def open_store(override: str | None = None) -> Store:
    """The user's store: `--db` beats `$ONCE_DB` beats the XDG data directory."""
    return Store(db_path(override))
