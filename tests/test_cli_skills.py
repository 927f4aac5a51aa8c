"""`agent skills list|show` through a small root app, as the main CLI mounts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from once.cli import skills_cmd

root = typer.Typer()


@root.callback()
def _root() -> None:
    """Stand-in for the main CLI."""


root.add_typer(skills_cmd.app, name="skills")


def run(*args: str) -> Result:
    return CliRunner().invoke(root, ["skills", *args])


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repo with a project skill, a broken one, and a user skill; the cwd is a subdirectory."""
    path = tmp_path / "repo"
    (path / ".git").mkdir(parents=True)
    (path / "src").mkdir()
    skill = path / ".once" / "skills" / "release-notes" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: release-notes\ndescription: >\n  Write release notes.\n  Use when releasing.\n"
                     "license: MIT\n---\n# Release notes\n\nList user-visible changes first.\n")
    broken = path / ".claude" / "skills" / "Broken" / "SKILL.md"
    broken.parent.mkdir(parents=True)
    broken.write_text("---\nname: Broken\ndescription: x\n---\n")
    user = tmp_path / "xdg" / "once" / "skills" / "mine" / "SKILL.md"
    user.parent.mkdir(parents=True)
    user.write_text("---\nname: mine\ndescription: My own playbook.\n---\nbody\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(path / "src")
    return path


def test_list_plain(repo: Path) -> None:
    result = run("list")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    names = [line.split()[0] for line in lines[::2]]
    assert names == sorted(names)
    assert {"python-tests", "git-hygiene", "release-notes", "mine"} <= set(names)
    row = next(line for line in lines if line.startswith("release-notes"))
    assert " project " in row and "Write release notes. Use when releasing." in row
    assert str(repo / ".once" / "skills" / "release-notes" / "SKILL.md") in result.stdout
    assert "Broken/SKILL.md" in result.stderr and "must be lowercase" in result.stderr
    assert result.stderr.startswith("warning: ")


def test_list_json(repo: Path) -> None:
    result = run("list", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    by_name = {item["name"]: item for item in data}
    assert set(by_name["mine"]) == {"name", "source", "description", "path"}
    assert by_name["mine"]["source"] == "user"
    assert by_name["python-tests"]["source"] == "bundled"
    assert "Broken" not in by_name
    assert "warning:" in result.stderr  # warnings stay off stdout, which is JSON


def test_list_with_repo_option(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not inside the repo: only bundled and user skills
    outside = {item["name"] for item in json.loads(run("list", "--json").stdout)}
    assert "release-notes" not in outside and "mine" in outside
    inside = {item["name"] for item in json.loads(run("list", "--json", "-C", str(repo / "src")).stdout)}
    assert "release-notes" in inside
    missing = run("list", "-C", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no such directory")


def test_show_plain_and_json(repo: Path) -> None:
    result = run("show", "release-notes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"release-notes  (project: {repo / '.once' / 'skills' / 'release-notes' / 'SKILL.md'})")
    assert "description: Write release notes. Use when releasing." in result.stdout
    assert "license: MIT" in result.stdout
    assert result.stdout.rstrip().endswith("# Release notes\n\nList user-visible changes first.")

    data = json.loads(run("show", "/release-notes", "--json").stdout)
    assert data["frontmatter"] == {"name": "release-notes", "description": "Write release notes. Use when releasing.\n",
                                   "license": "MIT"}
    assert data["body"] == "# Release notes\n\nList user-visible changes first."
    assert data["source"] == "project" and data["description"] == "Write release notes. Use when releasing."


def test_show_bundled(repo: Path) -> None:
    result = run("show", "debug-failing-test")
    assert result.exit_code == 0
    assert "# Debugging a failing test" in result.stdout


def test_show_unknown_suggests(repo: Path) -> None:
    result = run("show", "python-test")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: no skill named 'python-test'")
    assert "Did you mean 'python-tests'?" in result.stderr
    far = run("show", "zzzz", "--json")
    assert far.exit_code == 2 and "Did you mean" not in far.stderr and far.stdout == ""
