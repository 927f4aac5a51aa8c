"""The entry point's fast paths: `agent` with only the app's options, and `agent run` with plain
options, skip the full parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from once.cli.app_args import FLAG_OPTIONS, VALUE_OPTIONS, AppArgs, parse_app_args
from once.cli.run_args import FLAG_OPTIONS as RUN_FLAG_OPTIONS
from once.cli.run_args import VALUE_OPTIONS as RUN_VALUE_OPTIONS
from once.cli.run_args import parse_run_args
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


# -- `agent run` without the full parser ---------------------------------------------------

RUN_FORMS = [
    ["fix it"], ["-"], ["--replay", "c.json", "--db=x.db", "fix it"], ["fix it", "-m", "claude-x", "-c", "--init"],
    ["--mode", "plan", "look"], ["--mode=agent", "--plan", "p.md"], ["--plan", "p.md"], [],
    ["--provider", "openai", "--base-url", "http://127.0.0.1:11434/v1", "--small-model", "s", "x"],
    ["--replay-small", "s.json", "--record", "r.json", "--max-turns", "7", "--max-cost", "0.5", "x"],
    ["--max-cost=1e-3", "--dirty", "refuse", "--permission-mode", "full-auto", "-o", "stream-json", "x"],
    ["--output-format=json", "--session", "s-1", "-C", "repo", "--continue", "x"],
]


def full_parser_call(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    """What `agent run ARGV` hands to run_task when typer parses it."""
    from once.cli import executor
    from once.cli.main import main as full_main

    seen: list[tuple[object, ...]] = []
    monkeypatch.setattr(executor, "run_task", lambda *args: seen.append(args) or 0)
    with pytest.raises(SystemExit) as exited:
        full_main(["run", *argv])
    assert exited.value.code in (0, None) and len(seen) == 1, argv
    return seen[0]


@pytest.mark.parametrize("argv", RUN_FORMS)
def test_plain_run_options_are_read_as_the_full_parser_reads_them(argv: list[str], monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    parsed = parse_run_args(argv)
    assert parsed is not None
    assert (parsed.prompt, parsed.mode, parsed.plan, parsed.options) == full_parser_call(argv, monkeypatch)


@pytest.mark.parametrize("argv", [
    ["a", "b"], ["--", "x"], ["-cm", "x"], ["--model"], ["--model", "-c"], ["--model=", "x"], ["--max-turns", "0"],
    ["--max-turns", "many"], ["--max-turns", "07"], ["--max-cost", "lots"], ["--mode", "sideways"], ["--help"],
    ["-o=json", "x"], ["--db", "a", "--db", "b", "x"], ["--continue=yes", "x"], ["-x"], ["--frobnicate", "x"],
])
def test_anything_else_after_run_goes_to_the_full_parser(argv: list[str]) -> None:
    assert parse_run_args(argv) is None


def test_the_fast_path_knows_exactly_the_run_options() -> None:
    from once.cli.main import build_app

    command = typer.main.get_command(build_app(["run"])).commands["run"]  # type: ignore[attr-defined]
    declared = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts] if opt.startswith("-")}
    assert declared - {"--help", "-h"} == set(RUN_VALUE_OPTIONS) | set(RUN_FLAG_OPTIONS)


@pytest.mark.parametrize("raised", [KeyboardInterrupt(), EOFError(), BrokenPipeError(32, "Broken pipe"), 3])
def test_a_run_ends_as_it_does_under_the_full_parser(raised: object, monkeypatch, capsys) -> None:
    """The exit code and what is printed, for an exit code and for what escapes a run."""
    from once.cli import executor, launch
    from once.cli.main import main as full_main

    def run_task(*args: object) -> int:
        if isinstance(raised, BaseException):
            raise raised
        return raised  # type: ignore[return-value]

    monkeypatch.setattr(executor, "run_task", run_task)
    ends = []
    for main in (launch.main, full_main):
        with pytest.raises(SystemExit) as exited:
            main(["run", "fix it"])
        ends.append((exited.value.code, capsys.readouterr()))
    assert ends[0] == ends[1]
