"""A tiny eval suite built in a temp folder, and cassettes that pass, fail, crash or hang."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.anthropic_server import message, text_block, tool_use_block

ADD_TEST = """from calc import add


def test_add():
    assert add(2, 3) == 5
"""


def write_task(suite: Path, name: str, *, prompt: str = "Make add() return the sum.", extra: str = "",
               files: dict[str, str] | None = None, hidden: dict[str, str] | None = None,
               check: str = "{python} -m pytest -q -p no:cacheprovider hidden_test_calc.py") -> Path:
    folder = suite / name
    for relative, text in (files or {"calc.py": "def add(a, b):\n    return a - b\n"}).items():
        target = folder / "repo" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for relative, text in (hidden if hidden is not None else {"hidden_test_calc.py": ADD_TEST}).items():
        target = folder / "hidden" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (folder / "task.toml").write_text(
        f'prompt = {json.dumps(prompt)}\ncheck = {json.dumps(check)}\ntags = ["python"]\n{extra}')
    return folder


def fix_add_responses() -> list[dict[str, Any]]:
    """Read calc.py, fix it, say so."""
    return [
        message([tool_use_block("t1", "read_file", {"path": "calc.py"})], stop_reason="tool_use"),
        message([tool_use_block("t2", "edit_file", {"path": "calc.py", "old_string": "a - b",
                                                    "new_string": "a + b"})], stop_reason="tool_use"),
        message([text_block("add() now returns the sum.")]),
    ]


def wrong_fix_responses() -> list[dict[str, Any]]:
    """Edits the wrong thing and claims success: the hidden check must fail."""
    return [
        message([tool_use_block("t1", "edit_file", {"path": "calc.py", "old_string": "a - b",
                                                    "new_string": "a * b"})], stop_reason="tool_use"),
        message([text_block("Fixed.")]),
    ]


def looping_responses(times: int = 5) -> list[dict[str, Any]]:
    return [message([tool_use_block(f"t{i}", "read_file", {"path": "missing.py"})], stop_reason="tool_use")
            for i in range(times)] + [message([text_block("I could not find it.")])]


def hanging_responses() -> list[dict[str, Any]]:
    """A command that outlives the task's time limit."""
    return [message([tool_use_block("t1", "run_command", {"command": "sleep 60", "timeout": 100})],
                    stop_reason="tool_use"), message([text_block("done")])]


def write_cassettes(folder: Path, cassettes: dict[str, list[dict[str, Any]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, responses in cassettes.items():
        (folder / f"{name}.json").write_text(json.dumps({"version": 1, "responses": responses}))
    return folder
