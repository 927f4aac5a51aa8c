"""The repo index in SQLite: cold build, incremental refresh, removals, .gitignore, skips."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from once.index.index import MAX_FILE_BYTES, refresh_index, repo_key
from once.store.db import connect
from once.store.migrations import migrate
from tests.conftest import make_repo


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "once.db")
    migrate(connection)
    yield connection
    connection.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {
        ".gitignore": "build/\n*.log\n",
        "app/cli.py": '"""The command line."""\n\ndef parse_args(argv):\n    return argv\n',
        "app/models.py": "class User:\n    def save(self):\n        pass\n",
        "web/client.ts": "export function fetchUser(id: string) {}\n",
        "build/generated.py": "def ignored():\n    pass\n",
        "debug.log": "noise\n",
    })


def rows(conn: sqlite3.Connection, repo: Path) -> dict[str, sqlite3.Row]:
    return {row["path"]: row for row in conn.execute("SELECT * FROM file_index WHERE repo = ?", (repo_key(repo),))}


def fts_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM file_index_fts").fetchone()[0]


def test_cold_build_indexes_what_git_shows(conn: sqlite3.Connection, project: Path) -> None:
    stats = refresh_index(conn, project)
    assert (stats.parsed, stats.unchanged, stats.removed) == (4, 0, 0)
    indexed = rows(conn, project)
    assert sorted(indexed) == [".gitignore", "app/cli.py", "app/models.py", "web/client.ts"]
    cli = indexed["app/cli.py"]
    assert cli["language"] == "python" and cli["doc"] == "The command line."
    assert json.loads(cli["symbols"]) == [["parse_args", "function", 3, 4]]
    assert cli["size"] == (project / "app/cli.py").stat().st_size and len(cli["hash"]) == 32
    assert indexed["web/client.ts"]["language"] == "typescript"
    assert fts_count(conn) == 4


def test_refresh_parses_only_changed_files_and_removes_deleted(conn: sqlite3.Connection, project: Path) -> None:
    refresh_index(conn, project)
    assert refresh_index(conn, project).parsed == 0
    (project / "app/cli.py").write_text("def parse_args(argv):\n    return []\n\ndef main():\n    pass\n")
    stats = refresh_index(conn, project)
    assert (stats.parsed, stats.unchanged, stats.removed) == (1, 3, 0)
    assert [s[0] for s in json.loads(rows(conn, project)["app/cli.py"]["symbols"])] == ["parse_args", "main"]
    (project / "app/models.py").unlink()
    stats = refresh_index(conn, project)
    assert (stats.parsed, stats.unchanged, stats.removed) == (0, 3, 1)
    assert "app/models.py" not in rows(conn, project)
    assert fts_count(conn) == 3  # the search row went with it


def test_same_content_with_a_new_mtime_is_not_parsed_again(conn: sqlite3.Connection, project: Path) -> None:
    refresh_index(conn, project)
    target = project / "app/models.py"
    stamp = target.stat().st_mtime_ns + 5_000_000_000
    os.utime(target, ns=(stamp, stamp))
    stats = refresh_index(conn, project)
    assert (stats.parsed, stats.unchanged) == (0, 4)
    assert rows(conn, project)["app/models.py"]["mtime_ns"] == stamp  # so the next refresh skips the read


def test_binary_and_large_files_are_listed_but_not_searchable(conn: sqlite3.Connection, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    (repo / "logo.png").write_bytes(b"\x89PNG\0\0\0binary")
    (repo / "huge.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 10))
    stats = refresh_index(conn, repo)
    assert (stats.parsed, stats.skipped) == (1, 2)
    indexed = rows(conn, repo)
    assert indexed["logo.png"]["language"] == "binary" and indexed["huge.py"]["language"] == "large"
    assert fts_count(conn) == 1
    again = refresh_index(conn, repo)
    assert (again.parsed, again.unchanged, again.skipped) == (0, 3, 0)


def test_two_repositories_keep_separate_rows(conn: sqlite3.Connection, tmp_path: Path) -> None:
    one = make_repo(tmp_path / "one", {"a.py": "def a():\n    pass\n"})
    two = make_repo(tmp_path / "two", {"a.py": "def b():\n    pass\n", "c.py": ""})
    refresh_index(conn, one)
    refresh_index(conn, two)
    (one / "a.py").unlink()
    assert refresh_index(conn, one).removed == 1
    assert sorted(rows(conn, two)) == ["a.py", "c.py"]


def test_progress_is_reported(conn: sqlite3.Connection, project: Path) -> None:
    calls: list[tuple[int, int]] = []
    refresh_index(conn, project, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (4, 4)


def test_symlinks_out_of_the_repo_are_not_indexed_and_secrets_are_redacted(conn: sqlite3.Connection,
                                                                            tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("def private_helper():\n    pass\n")
    repo = make_repo(tmp_path / "r", {
        "config.py": '"""Settings. Key: AKIAIOSFODNN7EXAMPLF."""\nAWS = "AKIAIOSFODNN7EXAMPLF"\n',
        "inner.py": "def inner():\n    pass\n",
    })
    (repo / "leak.py").symlink_to(outside)
    (repo / "alias.py").symlink_to(repo / "inner.py")
    refresh_index(conn, repo)
    indexed = rows(conn, repo)
    assert "leak.py" not in indexed and "alias.py" in indexed
    stored = " ".join(str(value) for row in conn.execute("SELECT * FROM file_index_fts") for value in row)
    stored += " ".join(row["doc"] for row in indexed.values())
    assert "AKIAIOSFODNN7EXAMPLF" not in stored and "REDACTED" in stored
