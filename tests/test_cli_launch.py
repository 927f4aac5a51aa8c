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
