"""The README's exit-code table is the one place the codes are promised: representative failures
of several commands exit with the code whose row names them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import once.errors as errors
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, tool_use_block

README = Path(__file__).resolve().parent.parent / "README.md"
FAKE_KEY = "ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789"


def exit_code_table() -> dict[int, str]:
    """code -> its row's text, from the README's "Exit codes" section."""
    section = README.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): text for code, text in re.findall(r"^\| (\d) \| (.+) \|$", section, re.MULTILINE)}


def test_the_table_covers_every_code_once_can_exit_with():
    table = exit_code_table()
    assert sorted(table) == [0, 1, 2, 3, 4]
    raised = {cls.exit_code for _, cls in inspect.getmembers(errors, inspect.isclass)
              if issubclass(cls, errors.OnceError)}
    constants = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert raised | constants <= set(table)


def test_representative_failures_exit_as_the_table_says(cli, repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ONCE_DB", str(tmp_path / "once.db"))
    table = exit_code_table()
    (repo / "notes.txt").write_text(f"token = {FAKE_KEY}\n")
    looping = write_cassette(tmp_path / "loop.json", [message([tool_use_block(f"t{i}", "list_files", {})])
                                                      for i in range(3)])
    left_over = write_cassette(tmp_path / "left.json", [message("done"), message("never asked for")])
    cases = [  # (arguments, the code, words of its row)
        (["scan"], 1, "`agent scan` found a secret"),
        (["undo"], 1, "`agent undo` refused"),
        (["feedback", "export"], 1, "`agent feedback export` has fewer examples"),
        (["db", "path", "--db", str(tmp_path / "none.db")], 1, "`agent db path`: no database there yet"),
        (["run", "--replay", str(looping), "--max-turns", "2", "hi"], 1, "`max_turns`"),
        (["queue", "move", "1", "sideways"], 2, "usage error"),
        (["log", "-C", str(tmp_path / "nowhere")], 2, "usage error"),
        (["run", "--provider", "openai", "-m", "x", "--base-url", "http://127.0.0.1:9/v1", "hi"], 3, "provider"),
        (["run", "--replay", str(left_over), "hi"], 4, "`replay_mismatch`"),
    ]
    (repo / "mine.txt").write_text("a commit of my own on top\n")
    git(repo, "add", "mine.txt")
    git(repo, "commit", "-q", "-m", "mine")
    assert cli("queue", "add", "something", cwd=repo).code == 0
    for args, code, words in cases:
        result = cli(*args, cwd=repo)
        assert result.code == code, (args, result.stderr)
        assert words in table[code], (args, words)
        if args[0] in ("scan", "undo", "feedback", "db"):  # a refusal says what to do next
            assert "hint:" in result.stderr, (args, result.stderr)
