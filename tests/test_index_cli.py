"""`agent files "PROMPT"` on a fixture repo, through a Typer app mounting the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from once.cli import files_cmd
from once.errors import UsageError
from tests.conftest import make_repo

app = typer.Typer()
app.command("files")(files_cmd.files)
app.command("noop")(lambda: None)  # two commands, so `files` is a subcommand as under `agent`


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {
        "app/cli.py": '"""Command line."""\n\ndef parse_args(argv):\n    return argv\n',
        "app/models.py": '"""Models."""\n\nclass User:\n    pass\n',
        "docs/guide.md": "# Guide\n\nUsers and arguments.\n",
    })


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, ["files", *args], catch_exceptions=False)


def test_files_prints_the_ranked_selection_with_reasons(project: Path, tmp_path: Path) -> None:
    db = tmp_path / "once.db"
    result = invoke("parse_args ignores the user", "-C", str(project), "--db", str(db))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "selected (bm25): 3 files, marked *"
    assert lines[1].startswith("*  1.") and lines[1].endswith("app/cli.py")
    assert "defines parse_args" in lines[2]
    assert "index: 3 files (3 parsed, 0 unchanged, 0 removed, 0 binary or large)" in result.stderr
    again = invoke("parse_args", "-C", str(project), "--db", str(db))
    assert "(0 parsed, 3 unchanged" in again.stderr  # the second run reuses the index


def test_files_json(project: Path, tmp_path: Path) -> None:
    result = invoke("--json", "--limit", "1", "User model", "-C", str(project / "app"),
                    "--db", str(tmp_path / "once.db"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["repo"] == str(project.resolve()) and data["method"] == "bm25"
    assert [c["path"] for c in data["candidates"]] == ["app/models.py"]
    assert data["candidates"][0]["symbols"] == ["User"] and data["candidates"][0]["score"] > 0
    assert data["selected"][0] == "app/models.py"
    assert data["index"]["parsed"] == 3


def test_empty_prompt_and_missing_directory_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="empty"):
        invoke("  ", "-C", str(tmp_path), "--db", str(tmp_path / "once.db"))
    with pytest.raises(UsageError, match="no such directory"):
        invoke("x", "-C", str(tmp_path / "nope"), "--db", str(tmp_path / "once.db"))


def test_errors_reach_stderr_with_an_exit_code_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from once.cli import main as main_module

    monkeypatch.setattr(main_module, "app", app)
    with pytest.raises(SystemExit) as exit_info:
        main_module.main(["files", "x", "-C", str(tmp_path / "nope"), "--db", str(tmp_path / "once.db")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: no such directory")
