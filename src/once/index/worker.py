"""Reading a batch of files and turning them into index rows: the work a pool worker does
(the serial build runs the same function in-process, so both produce the same rows)."""

from __future__ import annotations

from pathlib import Path

from once.index.filerow import FileRow, Touched, content_hash, file_row, skipped_row
from once.index.symbols import is_binary
from once.safety.regular import read_regular

MAX_FILE_BYTES = 1_000_000

Job = tuple[str, int, int, str]
"""(path, size, mtime_ns, stored hash or "" when the file is new), from the parent's stat."""
Outcome = FileRow | Touched | None
"""None: the file vanished or could not be read; the next refresh removes it."""


def look_batch(root: str, jobs: list[Job]) -> list[Outcome]:
    base = Path(root)
    return [look(base, job) for job in jobs]


def look(root: Path, job: Job) -> Outcome:
    """The row to write for one file whose size or mtime changed (or that is new)."""
    path, size, mtime_ns, old_hash = job
    if size > MAX_FILE_BYTES:
        return skipped_row(path, size, mtime_ns, "", "large")
    data = read_regular(root / path, limit=MAX_FILE_BYTES + 1)  # a FIFO swapped in would block
    if data is None:
        return None
    digest = content_hash(data)
    if old_hash and old_hash == digest:
        return Touched(path, mtime_ns)
    if is_binary(data):
        return skipped_row(path, len(data), mtime_ns, digest, "binary")
    return file_row(path, data, mtime_ns, digest)
