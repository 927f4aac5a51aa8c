"""Stage one's repo index in SQLite, refreshed incrementally.

Per file: size, mtime, content hash, language, top-level symbols, leading doc, and
the distinct identifiers the code uses (search terms in `file_index_fts`). A file is
re-read only when its size or mtime changed, and re-parsed only when its content
hash changed too; files gone from the listing are removed. Files are listed by
`repo_files`, so whatever .gitignore hides is never indexed; symlinks leading out
of the repository are not followed; stored text passes credential redaction
(`filerow`).

Reading and parsing run on a process pool when there are enough files (`pool`); the
rows come back as plain data and this process writes them in one transaction, so an
interrupted or failed build leaves the previous index as it was.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from once.errors import ConfigError, StoreError
from once.index.filerow import FileRow, Touched
from once.index.pool import batches, cpu_count, map_batches, pool_size
from once.index.worker import MAX_FILE_BYTES, Job, Outcome, look_batch
from once.safety.paths import PathRefused, confine
from once.safety.redact import redact
from once.safety.regular import link_on_the_way
from once.store.db import transaction
from once.tools.listing import repo_files

__all__ = ["MAX_FILE_BYTES", "IndexStats", "Progress", "refresh_index", "repo_key"]

WORKERS_ENV = "ONCE_INDEX_WORKERS"

Progress = Callable[[int, int], None]
"""(files looked at, files listed), called now and then during a refresh."""

Known = dict[str, tuple[int, int, int, str]]
"""path -> (id, size, mtime_ns, hash) of the stored rows."""


@dataclass
class IndexStats:
    parsed: int
    unchanged: int
    removed: int
    seconds: float
    skipped: int = 0
    """Binary or oversized files: listed, not searchable."""

    @property
    def files(self) -> int:
        return self.parsed + self.unchanged + self.skipped


def repo_key(repo_root: Path) -> str:
    """How a repository is named in the index: its resolved root."""
    return str(Path(repo_root).resolve())


def refresh_index(conn: sqlite3.Connection, repo_root: Path, progress: Progress | None = None, *,
                  workers: int | None = None) -> IndexStats:
    """Bring the index of `repo_root` up to date with the files on disk.

    `workers` forces the number of processes (1: this one only); by default, and unless
    ONCE_INDEX_WORKERS says otherwise, a pool is used when enough files need parsing.
    """
    start = time.perf_counter()
    root = Path(repo_root).resolve()
    repo = str(root)
    known: Known = {row[1]: (row[0], row[2], row[3], row[4]) for row in conn.execute(
        "SELECT id, path, size, mtime_ns, hash FROM file_index WHERE repo = ?", (repo,))}
    folders: dict[str, bool] = {}
    listed = [rel for rel in repo_files(root) if _inside(root, rel, folders)]
    # A name that holds a secret is not stored: asked only of names not indexed yet.
    listed = [rel for rel in listed if rel in known or redact(rel) == rel]
    stats = IndexStats(0, 0, 0, 0.0)
    jobs = _changed(root, listed, known, stats)
    report = _reporter(progress, len(listed), len(listed) - len(jobs))
    outcomes = _run(root, jobs, _forced(workers), report)
    rows, touched = _sort_out(outcomes, known, stats)
    gone = sorted(set(known) - set(listed))
    stats.removed = len(gone)
    _write(conn, repo, known, rows, gone, touched)
    if progress is not None:
        progress(len(listed), len(listed))
    stats.seconds = time.perf_counter() - start
    return stats


def _forced(workers: int | None) -> int | None:
    if workers is not None:
        return workers
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"{WORKERS_ENV} must be a whole number of processes, not {value!r}.",
                          hint=f"Unset it to size the pool to the machine, or set {WORKERS_ENV}=1 for none.")
    return int(value)


def _inside(root: Path, rel: str, folders: dict[str, bool]) -> bool:
    """False for a file reached through a linked folder (git lists a tracked file beyond a link
    a command made), and for a link that leads out of the repository: not ours to index.
    `folders` remembers each folder's answer."""
    parent = os.path.dirname(rel)
    if parent not in folders:
        folders[parent] = not link_on_the_way(root, rel)
    if not folders[parent]:
        return False
    if not os.path.islink(root / rel):
        return True
    try:
        confine(root, rel)
    except PathRefused:
        return False
    return True


def _changed(root: Path, listed: list[str], known: Known, stats: IndexStats) -> list[Job]:
    """The files whose size or mtime differ from the stored row (or that are new)."""
    jobs: list[Job] = []
    for rel in listed:
        try:
            st = os.stat(root / rel)
        except OSError:
            continue  # vanished since the listing; the next refresh removes it
        old = known.get(rel)
        if old is not None and old[1] == st.st_size and old[2] == st.st_mtime_ns:
            stats.unchanged += 1
        else:
            jobs.append((rel, st.st_size, st.st_mtime_ns, old[3] if old is not None else ""))
    return jobs


def _reporter(progress: Progress | None, total: int, done: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    state = [done, done]  # files looked at, when last reported

    def report(count: int) -> None:
        state[0] += count
        if state[0] - state[1] >= 200:
            state[1] = state[0]
            progress(state[0], total)

    return report


def _run(root: Path, jobs: list[Job], forced: int | None, report: Callable[[int], None] | None) -> list[Outcome]:
    workers = pool_size(len(jobs), cpu_count(), forced)
    results = map_batches(partial(look_batch, str(root)), batches(jobs, workers), workers, report)
    return [outcome for batch in results for outcome in batch]


def _sort_out(outcomes: list[Outcome], known: Known, stats: IndexStats) -> tuple[list[FileRow], list[tuple[int, int]]]:
    """Rows to write, and (mtime_ns, id) of rows whose content is unchanged."""
    rows: list[FileRow] = []
    touched: list[tuple[int, int]] = []
    for outcome in outcomes:
        if isinstance(outcome, Touched):
            stats.unchanged += 1
            touched.append((outcome.mtime_ns, known[outcome.path][0]))
        elif outcome is not None:
            rows.append(outcome)
            if outcome.terms is None:
                stats.skipped += 1
            else:
                stats.parsed += 1
    return rows, touched


def _write(conn: sqlite3.Connection, repo: str, known: Known, rows: list[FileRow], gone: list[str],
           touched: list[tuple[int, int]]) -> None:
    if not (rows or gone or touched):
        return
    try:
        with transaction(conn):
            for path in gone:
                file_id = known[path][0]
                conn.execute("DELETE FROM file_index_fts WHERE rowid = ?", (file_id,))
                conn.execute("DELETE FROM file_index WHERE id = ?", (file_id,))
            conn.executemany("UPDATE file_index SET mtime_ns = ? WHERE id = ?", touched)
            for row in rows:
                _upsert(conn, repo, known.get(row.path), row)
    except sqlite3.Error as exc:
        raise StoreError(f"Writing the file index failed: {exc}") from None


def _upsert(conn: sqlite3.Connection, repo: str, old: tuple[int, int, int, str] | None, row: FileRow) -> None:
    values = (row.size, row.mtime_ns, row.hash, row.language, row.symbols, row.doc)
    if old is None:
        file_id = conn.execute(
            "INSERT INTO file_index (size, mtime_ns, hash, language, symbols, doc, repo, path) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*values, repo, row.path)).lastrowid
    else:
        file_id = old[0]
        conn.execute("UPDATE file_index SET size = ?, mtime_ns = ?, hash = ?, language = ?, symbols = ?, "
                     "doc = ? WHERE id = ?", (*values, file_id))
        conn.execute("DELETE FROM file_index_fts WHERE rowid = ?", (file_id,))
    if row.terms is not None:
        conn.execute("INSERT INTO file_index_fts (rowid, path_terms, symbol_terms, doc_terms, body_terms) "
                     "VALUES (?, ?, ?, ?, ?)", (file_id, *row.terms))
