"""The [verify] keys through `agent config`: set, get, list, and their validation."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.config_cli import clean_config_env, root


@pytest.fixture()
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = clean_config_env(tmp_path, monkeypatch)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    return home


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(root, ["config", *args], env=env)


def test_set_verify_test_command_writes_a_table(xdg: Path) -> None:
    result = run("set", "verify.test_command", "pytest -q")
    assert result.exit_code == 0, result.output
    assert "set verify.test_command = pytest -q" in result.stdout
    assert tomllib.loads((xdg / "once" / "config.toml").read_text()) == {"verify": {"test_command": "pytest -q"}}
    got = json.loads(run("get", "verify.test_command", "--json").stdout)
    assert got == {"key": "verify.test_command", "value": "pytest -q", "source": "user"}


def test_project_may_set_verify_commands(xdg: Path) -> None:
    result = run("set", "verify.lint_command", "ruff check .", "--project")
    assert result.exit_code == 0, result.output
    assert run("get", "verify.lint_command").stdout.strip() == "ruff check ."


def test_verify_values_are_validated(xdg: Path) -> None:
    bad_when = run("set", "verify.when", "sometimes")
    assert bad_when.exit_code == 2
    assert "one of turn, end, off" in bad_when.stderr
    bad_retries = run("set", "--", "verify.max_retries", "-1")
    assert bad_retries.exit_code == 2 and "at least 0" in bad_retries.stderr
    assert not (xdg / "once" / "config.toml").exists()
    assert run("set", "verify.max-retries", "0").exit_code == 0
    assert run("get", "verify.max_retries").stdout.strip() == "0"


def test_list_shows_new_keys_with_env_and_help(xdg: Path) -> None:
    result = run("list", "--json", env={"ONCE_VERIFY_WHEN": "end"})
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert (rows["verify.when"]["value"], rows["verify.when"]["source"]) == ("end", "env")
    assert rows["verify.test_command"]["env"] == "ONCE_VERIFY_TEST_COMMAND"
    assert rows["max_files"]["value"] == 8 and rows["context_budget"]["value"] == 120_000
    for name in ("verify.test_command", "verify.lint_command", "verify.max_retries", "verify.when", "verify.timeout",
                 "max_files", "context_budget"):
        assert rows[name]["help"]
    table = run("list").stdout
    assert "verify.timeout" in table and "ONCE_VERIFY_TIMEOUT" in table


def test_unset_removes_the_key_and_empty_table(xdg: Path) -> None:
    run("set", "verify.timeout", "30")
    assert run("unset", "verify.timeout").exit_code == 0
    assert tomllib.loads((xdg / "once" / "config.toml").read_text()) == {}
    assert run("get", "verify.timeout").stdout.strip() == "600"
