"""`agent db path`: the database every command uses, for datasette and sqlite-utils."""

from __future__ import annotations

from pathlib import Path

from once.store import Store


def test_db_path_prints_the_database_that_commands_use(cli, tmp_path, monkeypatch, isolated_env):
    default = isolated_env / ".local" / "share" / "once" / "once.db"
    Store(default).close()
    assert cli("db", "path").stdout == f"{default}\n"
    chosen = tmp_path / "env.db"
    Store(chosen).close()
    monkeypatch.setenv("ONCE_DB", str(chosen))
    assert cli("db", "path").stdout == f"{chosen}\n"
    flag = tmp_path / "flag.db"
    Store(flag).close()
    assert cli("db", "path", "--db", str(flag)).stdout == f"{flag}\n"


def test_db_path_is_absolute_for_a_relative_db(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Store(tmp_path / "here.db").close()
    result = cli("db", "path", "--db", "here.db")
    assert result.code == 0 and result.stdout == f"{tmp_path / 'here.db'}\n"


def test_no_database_yet_is_an_error_that_says_what_creates_it(cli, tmp_path):
    missing = tmp_path / "none" / "once.db"
    result = cli("db", "path", "--db", str(missing))
    assert result.code == 1 and result.stdout == ""
    assert f"error: no once database at {missing} yet" in result.stderr
    assert "agent run" in result.stderr and "Traceback" not in result.stderr
    assert not missing.parent.exists()  # nothing was created


def test_db_path_json_says_whether_it_exists(cli, tmp_path):
    missing = tmp_path / "once.db"
    result = cli("db", "path", "--json", "--db", str(missing))
    assert result.code == 0 and result.json() == {"path": str(missing), "exists": False}
    Store(missing).close()
    assert cli("db", "path", "--json", "--db", str(missing)).json() == {"path": str(missing), "exists": True}


def test_a_directory_is_not_a_database(cli, tmp_path):
    result = cli("db", "path", "--db", str(tmp_path))
    assert result.code == 1 and "is a directory" in result.stderr and result.stdout == ""


def test_db_help_shows_datasette_and_sqlite_utils(cli):
    text = cli("db", "--help").stdout
    assert 'datasette "$(agent db path)"' in text and 'sqlite-utils tables "$(agent db path)"' in text


def test_readme_shows_the_same_commands():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert 'datasette "$(agent db path)"' in readme and 'sqlite-utils tables "$(agent db path)"' in readme
