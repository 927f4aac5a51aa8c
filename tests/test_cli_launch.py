"""The entry point's fast path: `agent` with only the app's options skips the full parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from once.cli.app_args import FLAG_OPTIONS, VALUE_OPTIONS, AppArgs, parse_app_args
from tests.conftest import run_agent_subprocess


def test_no_arguments_are_the_app_with_defaults() -> None:
    assert parse_app_args([]) == AppArgs()


def test_every_app_option_in_both_spellings() -> None:
    args = parse_app_args(["--replay", "c.json", "-m", "claude-x", "--provider=replay", "--db", "x.db",
                           "-C", "repo", "--permission-mode=full-auto", "-c"])
    assert args == AppArgs(permission_mode="full-auto", replay=Path("c.json"), model="claude-x",
                           provider="replay", db=Path("x.db"), repo=Path("repo"), continue_session=True)


@pytest.mark.parametrize("argv", [
    ["run", "hello"], ["--help"], ["-h"], ["--version"], ["--frobnicate"], ["--model"], ["--model", "-c"],
    ["--model="], ["-m", "a", "-m", "b"], ["--continue=yes"], ["log", "--db", "x"], ["--replay", "c", "extra"],
])
def test_anything_else_goes_to_the_full_parser(argv: list[str]) -> None:
    assert parse_app_args(argv) is None


def test_the_fast_path_knows_exactly_the_root_options() -> None:
    from once.cli.main import app

    command = typer.main.get_command(app)
    declared = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    assert declared - {"--version", "--help", "-h"} == set(VALUE_OPTIONS) | set(FLAG_OPTIONS)


def test_without_a_terminal_the_full_parser_explains(tmp_path: Path) -> None:
    done = run_agent_subprocess("--replay", "c.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr
    version = run_agent_subprocess("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("once ")


def test_the_app_takes_the_provider_options_agent_run_takes() -> None:
    args = parse_app_args(["--provider", "openai", "--base-url", "http://127.0.0.1:11434/v1", "-m", "qwen",
                           "--small-model", "tiny", "--max-turns", "7", "--max-cost=0.5"])
    assert args is not None
    assert args.flags() == {"provider": "openai", "model": "qwen", "small_model": "tiny",
                            "base_url": "http://127.0.0.1:11434/v1", "max_turns": 7, "max_cost": 0.5}
    assert parse_app_args(["--max-turns", "many"]) is None  # the full parser says what is wrong
    assert parse_app_args(["--max-turns", "0"]) is None


def test_the_full_parser_opens_the_app_with_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--base-url`, which the app's own messages suggest, is an option of `agent` itself."""
    from typer.testing import CliRunner

    from once.cli import tui_cmd
    from once.cli.main import app

    opened: list[AppArgs] = []
    monkeypatch.setattr(tui_cmd, "has_terminal", lambda: True)
    monkeypatch.setattr(tui_cmd, "open_tui", opened.append)
    result = CliRunner().invoke(app, ["--provider", "openai", "--base-url", "http://h/v1", "--small-model", "s",
                                      "--replay-small", "s.json", "-m", "m"])
    assert result.exit_code == 0, result.output
    assert opened[0].base_url == "http://h/v1" and opened[0].small_model == "s"
    assert opened[0].replay_small == Path("s.json") and opened[0].model == "m"


def test_the_backend_uses_the_base_url_and_models_from_the_command_line(tmp_path: Path) -> None:
    from once.tui.backend import build_backend
    from tests.conftest import init_repo

    init_repo(tmp_path)
    backend = build_backend(tmp_path, provider="openai", model="qwen",
                            flags={"base_url": "http://127.0.0.1:9/v1", "small_model": "tiny", "max_turns": 3})
    assert backend.settings.base_url == "http://127.0.0.1:9/v1"
    assert backend.settings.small_model == "tiny" and backend.settings.max_turns == 3
    assert backend.ensure_provider().name == "openai"
