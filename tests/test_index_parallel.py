"""The index built on a process pool: the same rows as the serial build, and failures that
surface as errors (in bounded time) with the previous index left as it was."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from once.errors import ConfigError, StoreError
from once.index import index as index_module
from once.index import pool
from once.index.index import MAX_FILE_BYTES, refresh_index
from once.store.db import connect
from once.store.migrations import migrate
from tests.conftest import make_repo
from tests.fakes import index_workers

ROOT = Path(__file__).resolve().parents[1]


def open_db(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn


@pytest.fixture
def dbs(tmp_path: Path) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
    serial, parallel = open_db(tmp_path / "serial.db"), open_db(tmp_path / "parallel.db")
    yield serial, parallel
    serial.close()
    parallel.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {f"pkg/mod_{n}.py": f'"""Module {n}."""\n\nclass Thing{n}:\n    def run_{n}(self):\n'
                                f'        return "{n}"\n\nLIMIT_{n} = {n}\n' for n in range(40)}
    files.update({f"web/part{n}.ts": f"// Part {n}.\nexport function render{n}(x: number) {{ return x; }}\n"
                  for n in range(12)})
    files.update({
        "docs/guide.md": "# Guide\n\n## Install\n",
        "config.py": 'AKIAIOSFODNN7EXAMPLF = "x"\nAWS = "AKIAIOSFODNN7EXAMPLF"\n',
        "broken.py": "def (:\n  class\n",
    })
    repo = make_repo(tmp_path / "project", files)
    (repo / "blob.bin").write_bytes(b"\0\1\2" * 100)
    (repo / "huge.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 10))
    return repo


def snapshot(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    """Every stored value of every file, FTS terms included, ids too."""
    return [tuple(row) for row in conn.execute(
        "SELECT f.id, f.path, f.size, f.mtime_ns, f.hash, f.language, f.symbols, f.doc, "
        "t.path_terms, t.symbol_terms, t.doc_terms, t.body_terms FROM file_index f "
        "LEFT JOIN file_index_fts t ON t.rowid = f.id ORDER BY f.path")]


def test_the_pool_builds_exactly_the_rows_the_serial_build_does(
        dbs: tuple[sqlite3.Connection, sqlite3.Connection], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, parallel = dbs
    pools: list[int] = []
    real = pool._map_in_pool
    monkeypatch.setattr(pool, "_map_in_pool", lambda fn, work, workers, done: pools.append(workers) or real(
        fn, work, workers, done))
    one = refresh_index(serial, project, workers=1)
    two = refresh_index(parallel, project, workers=2)
    assert pools == [2], "the parallel build ran on a pool, the serial one did not"
    assert (one.parsed, one.skipped) == (two.parsed, two.skipped) == (55, 2)
    assert snapshot(serial) == snapshot(parallel)
    # Then an incremental refresh on both: an edit, a new file, a deletion, a touch.
    (project / "pkg/mod_3.py").write_text("def changed():\n    pass\n")
    (project / "pkg/new.py").write_text("class Fresh:\n    pass\n")
    (project / "pkg/mod_4.py").unlink()
    os.utime(project / "pkg/mod_5.py", ns=(1, 1))
    one, two = refresh_index(serial, project, workers=1), refresh_index(parallel, project, workers=2)
    assert (one.parsed, one.unchanged, one.removed) == (two.parsed, two.unchanged, two.removed) == (2, 55, 1)
    assert snapshot(serial) == snapshot(parallel)


def test_what_is_stored_and_shown_is_redacted_symbol_names_included(dbs: tuple[sqlite3.Connection, ...],
                                                                    project: Path) -> None:
    conn = dbs[1]
    refresh_index(conn, project, workers=2)
    stored = " ".join(str(value) for row in snapshot(conn) for value in row)
    assert "AKIAIOSFODNN7EXAMPLF" not in stored
    symbols = conn.execute("SELECT symbols FROM file_index WHERE path = 'config.py'").fetchone()[0]
    assert [name for name, *_ in json.loads(symbols)] == ["[REDACTED:aws_access_key_id]", "AWS"]


def test_a_small_repository_is_indexed_without_a_pool_unless_forced(
        dbs: tuple[sqlite3.Connection, ...], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "_map_in_pool", lambda *args: pytest.fail("no pool for 55 files"))
    assert refresh_index(dbs[0], project).parsed == 55
    assert pool.pool_size(55, cpus=8) == 1 and pool.pool_size(4000, cpus=8) == 8
    assert pool.pool_size(400, cpus=8) == 2 and pool.pool_size(10, cpus=8, forced=3) == 3
    monkeypatch.setenv("ONCE_INDEX_WORKERS", "many")
    with pytest.raises(ConfigError, match="ONCE_INDEX_WORKERS"):
        refresh_index(dbs[1], project)


def test_a_worker_exception_is_a_clear_error_and_the_previous_index_stays(
        dbs: tuple[sqlite3.Connection, ...], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = dbs[0]
    refresh_index(conn, project, workers=1)
    before = snapshot(conn)
    for n in range(10):
        (project / f"pkg/mod_{n}.py").write_text(f"def edited_{n}():\n    pass\n")
    (project / "pkg/mod_20.py").unlink()
    monkeypatch.setattr(index_module, "look_batch", index_workers.explode_batch)
    start = time.monotonic()
    with pytest.raises(StoreError, match="failed in a worker process: ValueError: cannot parse") as caught:
        refresh_index(conn, project, workers=2)
    assert time.monotonic() - start < 60
    assert "left as it was" in caught.value.message and caught.value.hint
    assert snapshot(conn) == before


def test_an_interrupt_in_the_build_leaves_the_previous_index(
        dbs: tuple[sqlite3.Connection, ...], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = dbs[0]
    refresh_index(conn, project, workers=1)
    before = snapshot(conn)
    for n in range(10):
        (project / f"pkg/mod_{n}.py").write_text(f"def edited_{n}():\n    pass\n")
    monkeypatch.setattr(index_module, "look_batch", index_workers.interrupt_batch)
    with pytest.raises(KeyboardInterrupt):
        refresh_index(conn, project, workers=2)
    assert snapshot(conn) == before


def run_python(code: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    child = run_python(
        "from once.index.pool import map_batches\n"
        "from once.errors import StoreError\n"
        "from tests.fakes.index_workers import die\n"
        "try:\n    map_batches(die, [[1], [2], [3]], 2)\n"
        "except StoreError as exc:\n    print(exc.message)\n")
    out, err = child.communicate(timeout=120)  # a hang fails here instead of blocking the suite
    assert child.returncode == 0, err
    assert "A process building the file index stopped unexpectedly" in out


def test_ctrl_c_stops_the_pool_promptly() -> None:
    # Its own session: the signal goes to the whole group, workers included, as a terminal's Ctrl-C does.
    child = run_python(
        "from once.index.pool import map_batches\n"
        "from tests.fakes.index_workers import slow\n"
        "map_batches(slow, [[n] for n in range(80)], 2, on_done=lambda n: print('done', flush=True))\n",
        start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "done"
        started = time.monotonic()
        os.killpg(child.pid, signal.SIGINT)
        _, err = child.communicate(timeout=60)
        assert time.monotonic() - started < 10, "it waited for every batch instead of the ones under way"
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    assert child.returncode != 0 and "KeyboardInterrupt" in err


def test_batches_keep_every_file_in_order_and_stay_small() -> None:
    files = list(range(1790))
    parallel = pool.batches(files, 2)
    assert [item for batch in parallel for item in batch] == files
    assert len(parallel) >= 16 and max(map(len, parallel)) <= 64
    # In this process too, so progress is reported during a large serial build.
    assert [len(batch) for batch in pool.batches(list(range(450)), 1)] == [200, 200, 50]


def test_a_worker_imports_nothing_from_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start as `python -c ...` in the repository, and `-c` would put it first on
    sys.path: its own `multiprocessing.py` would run, outside any sandbox, with the agent's keys."""
    marker = tmp_path / "ran"
    files = {f"src/m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(40)}
    files["multiprocessing.py"] = f"open({str(marker)!r}, 'w').write('imported')\nraise SystemExit(1)\n"
    files["pickle.py"] = f"open({str(marker)!r}, 'w').write('imported')\n"
    repo = make_repo(tmp_path / "repo", files)
    monkeypatch.chdir(repo)  # where the agent runs
    conn = open_db(tmp_path / "index.db")
    stats = refresh_index(conn, repo, workers=2)
    conn.close()
    assert not marker.exists()
    assert stats.parsed >= 40 and "PYTHONSAFEPATH" not in os.environ
