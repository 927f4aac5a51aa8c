"""What `agent` costs to start: help from rendered text, and the modules help and a run import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from once.cli import launch
from once.cli.help_text import HELP, WIDTH

HEAVY = ("typer", "click", "rich", "pydantic", "git", "numpy", "textual", "anthropic", "openai", "acp", "sqlite_utils",
         "psycopg", "tree_sitter", "multiprocessing", "urllib.request", "once.cli.main")
"""Modules `agent --help` must not import."""
HEAVY_FOR_RUN = tuple(m for m in HEAVY if m != "tree_sitter")
"""A replayed run reads its options without typer (run_args.py); it indexes new files' symbols with tree-sitter."""
NOT_FOR_AN_EDIT = ("once.vcs.undo", "once.verify.run", "once.verify.summarize", "once.safety.shell_split",
                   "once.safety.command_rules", "once.agent.plan", "once.agent.plan_run", "once.agent.text_edits",
                   "once.agent.text_edit_apply", "once.tools.plan_tool", "once.vent.store", "once.vent.webhook",
                   "once.recovery.triage", "once.cli.plan_cmd", "tomllib")
"""What a replayed edit without commands, checks, plans, vents or killed runs leaves unread: each is
imported where it is first needed (a command judged, a check run, a plan carried out...)."""


def test_help_text_matches_the_command_definitions() -> None:
    from once.cli.help_gen import render_all

    assert render_all() == HELP, "help_text.py is stale: run `python -m once.cli.help_gen`"


@pytest.mark.parametrize("path", [(), ("run",), ("config", "get"), ("queue",), ("team", "sync")])
def test_the_launcher_prints_what_the_full_parser_prints(path: tuple[str, ...], capsys, monkeypatch) -> None:
    from once.cli.main import main as full_main

    monkeypatch.setenv("COLUMNS", str(WIDTH))
    launch.main([*path, "--help"])
    fast = capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        full_main([*path, "-h"])
    assert exited.value.code in (0, None)
    assert fast == capsys.readouterr().out and fast.startswith(f"Usage: agent {' '.join(path)}".rstrip())


def test_a_narrow_terminal_gets_help_wrapped_by_the_full_parser(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit):
        launch.main(["run", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("Usage: agent run") and out != HELP[("run",)] + "\n"
    assert max(len(line) for line in out.splitlines()) <= 60


def test_anything_but_a_known_command_goes_to_the_full_parser(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    with pytest.raises(SystemExit) as exited:
        launch.main(["nonsense", "--help"])
    assert exited.value.code == 2 and "nonsense" in capsys.readouterr().err


def test_version_without_the_parser(capsys) -> None:
    from once import __version__

    launch.main(["--version"])
    assert capsys.readouterr().out == f"once {__version__}\n"


def imported_after(code: str, cwd: Path, names: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of `names` in sys.modules after `code` runs in a fresh interpreter."""
    script = (f"import sys\n{code}\n"
              f"print('\\n' + repr(sorted(m for m in {names!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 (our own repr of a list of names)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["knowledge", "search", "-h"], ["--version"]])
def test_help_imports_none_of_the_heavy_modules(args: list[str], tmp_path: Path) -> None:
    code = f"from once.cli.launch import main\nmain({args!r})"
    assert imported_after(code, tmp_path) == []


def two_file_edit(repo: Path, tmp_path: Path) -> Path:
    """A cassette editing `repo`'s first file and a b.py committed for it."""
    (repo / "b.py").write_text("B = 1\n")
    subprocess.run(["git", "add", "b.py"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "b"], cwd=repo, check=True)
    cassette = tmp_path / "c.json"
    cassette.write_text(json.dumps(two_file_cassette(repo)))
    return cassette


def test_a_replayed_run_imports_none_of_the_heavy_modules_it_does_not_use(repo: Path, tmp_path: Path) -> None:
    cassette = two_file_edit(repo, tmp_path)
    code = ("from once.cli.launch import main\n"
            f"try:\n    main(['run', '--replay', {str(cassette)!r}, '--db', {str(tmp_path / 'o.db')!r}, 'edit'])\n"
            "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code")
    found = imported_after(code, repo, HEAVY + NOT_FOR_AN_EDIT)
    assert [m for m in found if m in HEAVY_FOR_RUN + NOT_FOR_AN_EDIT] == [], found
    assert (repo / "b.py").read_text() == "B = 2\n"  # the run did edit: the imports are a real run's


def two_file_cassette(repo: Path) -> dict:
    first = sorted(p.name for p in repo.iterdir() if p.suffix == ".py" and p.name != "b.py")[0]
    old = (repo / first).read_text()
    edits = [{"type": "tool_use", "id": f"t{i}", "name": "edit_file", "input": {"path": path, "old_string": before,
                                                                            "new_string": after}}
             for i, (path, before, after) in enumerate([(first, old, old + "# edited\n"), ("b.py", "B = 1\n", "B = 2\n")])]
    usage = {"input_tokens": 10, "output_tokens": 5}
    return {"version": 1, "responses": [
        {"id": "m0", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": edits,
         "stop_reason": "tool_use", "stop_sequence": None, "usage": usage},
        {"id": "m1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
         "content": [{"type": "text", "text": "done"}], "stop_reason": "end_turn", "stop_sequence": None, "usage": usage},
    ]}


def sample_value(annotation: object) -> object:
    from enum import Enum

    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return list(annotation)[-1].value
    return {str: "text", int: "7", float: "0.5", Path: "some/file", bool: True}.get(annotation)  # type: ignore[call-overload]


def test_plain_conversion_gives_what_typer_gives_for_every_run_option() -> None:
    import typer
    from typer._coercion import build_runtime_param

    from once.cli.coercion import PlainParam
    from once.cli.main import build_app

    command = typer.main.get_command(build_app(["run"])).commands["run"]  # type: ignore[attr-defined]
    ctx = typer.Context(command)
    compared = 0
    for param in command.params:
        value = sample_value(param.type_descriptor.annotation)
        if value is None:
            continue
        plain = PlainParam(param.type_descriptor)
        assert plain.coerce(value, param, ctx) == build_runtime_param(param.type_descriptor).coerce(
            value, param=param, ctx=ctx), param.name
        bounded = param.type_descriptor.parameter_info.min is not None
        assert (plain._typer is not None) == bounded, param.name  # only bounds go to typer
        compared += 1
    assert compared >= 10


@pytest.mark.parametrize("args, words", [(["--max-turns", "many"], "valid integer"), (["--max-turns", "0"], "greater than or equal to 1"),
                                         (["--mode", "sideways"], "sideways")])
def test_a_bad_value_gets_typers_own_message(cli, args: list[str], words: str) -> None:
    result = cli("run", *args, "hello")
    assert result.code == 2 and words in result.stderr
