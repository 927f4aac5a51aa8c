"""`agent config ...` through a small root app, as the main CLI mounts it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from once import config
from tests.config_cli import clean_config_env, root


@pytest.fixture()
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = clean_config_env(tmp_path, monkeypatch)
    return home


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    (path / ".git").mkdir(parents=True)
    (path / "src").mkdir()
    monkeypatch.chdir(path / "src")  # a subdirectory: the root is found by walking up
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(root, ["config", *args], env=env)


def user_toml(xdg: Path) -> dict[str, object]:
    return tomllib.loads((xdg / "once" / "config.toml").read_text())


def test_get_default_plain_and_json(xdg: Path, repo: Path) -> None:
    result = run("get", "model")
    assert result.exit_code == 0
    assert result.stdout.strip() == "claude-sonnet-4-6"
    result = run("get", "max_turns", "--json")
    assert json.loads(result.stdout) == {"key": "max_turns", "value": 50, "source": "default"}


def test_get_unset_optional_prints_nothing_on_stdout(xdg: Path, repo: Path) -> None:
    result = run("get", "max_cost")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "not set" in result.stderr
    assert json.loads(run("get", "max_cost", "--json").stdout)["value"] is None


def test_get_unknown_key_exits_2(xdg: Path, repo: Path) -> None:
    result = run("get", "modle")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: unknown key 'modle' (did you mean model?)")
    assert "hint: known keys:" in result.stderr


def test_set_user_then_get(xdg: Path, repo: Path) -> None:
    result = run("set", "max-turns", "20")
    assert result.exit_code == 0, result.stderr
    assert "max_turns = 20" in result.stdout
    assert str(xdg / "once" / "config.toml") in result.stdout
    assert user_toml(xdg) == {"max_turns": 20}
    assert json.loads(run("get", "max_turns", "--json").stdout) == {
        "key": "max_turns", "value": 20, "source": "user"}


def test_set_project_overrides_user(xdg: Path, repo: Path) -> None:
    assert run("set", "dirty", "refuse").exit_code == 0
    result = run("set", "dirty", "commit", "--project")
    assert result.exit_code == 0, result.stderr
    assert tomllib.loads((repo / ".once" / "config.toml").read_text()) == {"dirty": "commit"}
    assert json.loads(run("get", "dirty", "--json").stdout) == {"key": "dirty", "value": "commit", "source": "project"}


def test_set_warns_when_a_stronger_layer_wins(xdg: Path, repo: Path) -> None:
    result = run("set", "model", "mine", env={"ONCE_MODEL": "from-env"})
    assert result.exit_code == 0
    assert "from-env" in result.stderr and "env" in result.stderr
    assert user_toml(xdg) == {"model": "mine"}


def test_set_bad_value_exits_2_and_writes_nothing(xdg: Path, repo: Path) -> None:
    result = run("set", "provider", "gemini")
    assert result.exit_code == 2
    assert "error: provider = 'gemini' is not allowed: expected one of anthropic, openai, replay" in result.stderr
    assert "hint:" in result.stderr
    assert not (xdg / "once" / "config.toml").exists()


def test_set_project_outside_repo_exits_2(xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    if config.find_repo_root(outside) is not None:
        pytest.skip("the temp dir itself sits inside a git repository")
    monkeypatch.chdir(outside)
    result = run("set", "model", "x", "--project")
    assert result.exit_code == 2
    assert "error: project config needs a git repository" in result.stderr
    assert "hint: run the command inside a git repository, or use --user" in result.stderr
    assert not (outside / ".once").exists()


def test_unset(xdg: Path, repo: Path) -> None:
    run("set", "max_cost", "3")
    result = run("unset", "max_cost")
    assert result.exit_code == 0
    assert "removed max_cost" in result.stdout
    assert "max_cost" not in user_toml(xdg)
    assert "was not set" in run("unset", "max_cost").stdout


def test_set_none_unsets(xdg: Path, repo: Path) -> None:
    run("set", "base_url", "http://127.0.0.1:11434/v1")
    result = run("set", "base_url", "none")
    assert result.exit_code == 0
    assert result.stdout.startswith("unset base_url")
    assert "base_url" not in user_toml(xdg)


def test_prices_through_cli(xdg: Path, repo: Path) -> None:
    first = run("set", "prices.my-model.input", "0.5")
    assert first.exit_code == 0
    assert "prices.my-model also needs output" in first.stderr
    second = run("set", "prices.my-model.output", "1.5", "--project")
    assert second.exit_code == 0
    assert "needs" not in second.stderr
    result = run("get", "prices.my-model", "--json")
    assert json.loads(result.stdout) == {"key": "prices.my-model", "value": {"input": 0.5, "output": 1.5},
                                         "source": "project,user"}
    assert run("get", "prices.my-model.input").stdout.strip() == "0.5"


def test_list_json_has_every_key_with_sources(xdg: Path, repo: Path) -> None:
    run("set", "max_turns", "9")
    result = run("list", "--json", env={"ONCE_PROVIDER": "openai"})
    assert result.exit_code == 0, result.stderr
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(config.KEYS)
    assert (rows["max_turns"]["value"], rows["max_turns"]["source"]) == (9, "user")
    assert (rows["provider"]["value"], rows["provider"]["source"]) == ("openai", "env")
    assert rows["model"]["source"] == "default"
    assert rows["provider"]["env"] == "ONCE_PROVIDER"
    assert all(row["help"] for row in rows.values())


def test_list_table_shows_values_sources_and_help(xdg: Path, repo: Path) -> None:
    run("set", "small_model", "tiny-model")
    result = run("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any("small_model" in line and "tiny-model" in line and "user" in line for line in lines)
    assert any("max_cost" in line and "(not set)" in line for line in lines)
    assert "Stop a run after" in result.stdout


def test_list_reports_a_broken_file(xdg: Path, repo: Path) -> None:
    bad = repo / ".once" / "config.toml"
    bad.parent.mkdir()
    bad.write_text("max_turns = [\n")
    result = run("list")
    assert result.exit_code == 2
    assert f"error: {bad}" in result.stderr
    assert "Traceback" not in result.output


def test_path_json(xdg: Path, repo: Path) -> None:
    data = json.loads(run("path", "--json").stdout)
    assert data["user"] == {"path": str(xdg / "once" / "config.toml"), "exists": False}
    assert data["project"]["path"] == str(repo.resolve() / ".once" / "config.toml")
    run("set", "model", "m")
    assert json.loads(run("path", "--json").stdout)["user"]["exists"] is True
    assert "not created yet" in run("path").stdout


def test_help_teaches_with_examples(xdg: Path) -> None:
    result = run("set", "--help")
    assert result.exit_code == 0
    assert "agent config set max_turns 20" in result.stdout
    assert "--project" in result.stdout
