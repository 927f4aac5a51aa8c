"""Stage one's repo index in SQLite, refreshed incrementally.

Per file: size, mtime, content hash, language, top-level symbols, leading doc, and
the distinct identifiers the code uses (search terms in `file_index_fts`). A file is
re-read only when its size or mtime changed, and re-parsed only when its content
hash changed too; files gone from the listing are removed. Files are listed by
`repo_files`, so whatever .gitignore hides is never indexed; symlinks leading out
of the repository are not followed; stored text passes credential redaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from once.errors import StoreError
from once.index.symbols import FileSummary, extract, is_binary
from once.index.tokens import path_terms, text_terms
from once.safety.paths import PathRefused, confine
from once.safety.redact import redact
from once.store.db import transaction
from once.tools.listing import repo_files

MAX_FILE_BYTES = 1_000_000
_BATCH = 500  # rows per write transaction: an interrupted cold build keeps what it did

Progress = Callable[[int, int], None]
"""(files looked at, files listed), called now and then during a refresh."""


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


@dataclass
class _Row:
    path: str
    size: int
    mtime_ns: int
    hash: str
    summary: FileSummary | None  # None: binary or too big, no search terms
    skipped_as: str = ""  # "binary" or "large" when summary is None
    body: str = ""


def repo_key(repo_root: Path) -> str:
    """How a repository is named in the index: its resolved root."""
    return str(Path(repo_root).resolve())


def refresh_index(conn: sqlite3.Connection, repo_root: Path, progress: Progress | None = None) -> IndexStats:
    """Bring the index of `repo_root` up to date with the files on disk."""
    start = time.perf_counter()
    root = Path(repo_root).resolve()
    repo = str(root)
    known = {row[1]: (row[0], row[2], row[3], row[4]) for row in conn.execute(
        "SELECT id, path, size, mtime_ns, hash FROM file_index WHERE repo = ?", (repo,))}
    listed = [rel for rel in repo_files(root) if _inside(root, rel)]
    stats = IndexStats(0, 0, 0, 0.0)
    pending: list[_Row] = []
    touched: list[tuple[int, int]] = []  # (mtime_ns, id): same content, new mtime
    for number, rel in enumerate(listed, start=1):
        if progress is not None and number % 200 == 0:
            progress(number, len(listed))
        row = _look(root, rel, known.get(rel), stats, touched)
        if row is not None:
            pending.append(row)
            if len(pending) >= _BATCH:
                _write(conn, repo, known, pending, [], touched)
                pending, touched = [], []
    gone = sorted(set(known) - set(listed))
    stats.removed = len(gone)
    _write(conn, repo, known, pending, gone, touched)
    if progress is not None:
        progress(len(listed), len(listed))
    stats.seconds = time.perf_counter() - start
    return stats


def _inside(root: Path, rel: str) -> bool:
    """False for a symlink that leads out of the repository: its target is not ours to index."""
    if not os.path.islink(root / rel):
        return True
    try:
        confine(root, rel)
    except PathRefused:
        return False
    return True


def _look(root: Path, rel: str, old: tuple[int, int, int, str] | None, stats: IndexStats,
          touched: list[tuple[int, int]]) -> _Row | None:
    """The row to write for `rel`, or None when the stored one still holds."""
    try:
        st = os.stat(root / rel)
    except OSError:
        return None  # vanished since the listing; the next refresh removes it
    if old is not None and old[1] == st.st_size and old[2] == st.st_mtime_ns:
        stats.unchanged += 1
        return None
    if st.st_size > MAX_FILE_BYTES:
        stats.skipped += 1
        return _Row(rel, st.st_size, st.st_mtime_ns, "", None, "large")
    try:
        data = (root / rel).read_bytes()
    except OSError:
        return None
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    if old is not None and old[3] == digest:
        stats.unchanged += 1
        touched.append((st.st_mtime_ns, old[0]))
        return None
    if is_binary(data):
        stats.skipped += 1
        return _Row(rel, len(data), st.st_mtime_ns, digest, None, "binary")
    stats.parsed += 1
    summary = extract(rel, data)
    summary.doc = redact(summary.doc)  # what the index stores passes redaction, like the rest of the store
    # Redact the text before it is cut into identifiers: a key split into words would slip through.
    clean = redact(data.decode("utf-8", "replace")).encode("utf-8")
    return _Row(rel, len(data), st.st_mtime_ns, digest, summary, body=body_terms(clean))


def _write(conn: sqlite3.Connection, repo: str, known: dict[str, tuple[int, int, int, str]],
           rows: list[_Row], gone: list[str], touched: list[tuple[int, int]]) -> None:
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


def _upsert(conn: sqlite3.Connection, repo: str, old: tuple[int, int, int, str] | None, row: _Row) -> None:
    summary = row.summary
    language = summary.language if summary is not None else row.skipped_as
    symbols = json.dumps([s.to_json() for s in summary.symbols], separators=(",", ":")) if summary else "[]"
    doc = summary.doc if summary else ""
    values = (row.size, row.mtime_ns, row.hash, language, symbols, doc)
    if old is None:
        file_id = conn.execute(
            "INSERT INTO file_index (size, mtime_ns, hash, language, symbols, doc, repo, path) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*values, repo, row.path)).lastrowid
    else:
        file_id = old[0]
        conn.execute("UPDATE file_index SET size = ?, mtime_ns = ?, hash = ?, language = ?, symbols = ?, "
                     "doc = ? WHERE id = ?", (*values, file_id))
        conn.execute("DELETE FROM file_index_fts WHERE rowid = ?", (file_id,))
    if summary is not None:
        conn.execute("INSERT INTO file_index_fts (rowid, path_terms, symbol_terms, doc_terms, body_terms) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (file_id, " ".join(path_terms(row.path)), " ".join(_symbol_terms(summary)),
                      " ".join(text_terms(summary.doc)), row.body))


_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]+")


def body_terms(data: bytes) -> str:
    """Each distinct identifier of the file once: what the code uses, without its repetitions.

    FTS5 itself lower-cases them and splits them on `_`; camelCase stays whole, which is
    the joined term a query makes of an identifier.
    """
    return b" ".join(set(_IDENTIFIER.findall(data))).decode("ascii")


def _symbol_terms(summary: FileSummary) -> list[str]:
    out: list[str] = []
    for symbol in summary.symbols:
        for part in symbol.name.split("."):
            out.extend(text_terms(part))
    return out
