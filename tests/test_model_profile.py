"""How a run talks to its model: the profile's defaults per provider, and what the lean prompt
leaves out (skills it was not asked for, the report tool) or adds (the failing checks)."""

from __future__ import annotations

import json
from pathlib import Path

from once.agent.profile import LEAN_MAX_TOKENS, LOCAL_EDIT_FORMAT, resolve_profile
from once.config import load_settings
from once.index.render import render_plain
from once.verify.detect import detect_checks
from tests.conftest import make_repo, write_cassette
from tests.fakes.anthropic_server import message
from tests.fakes.openai_server import FakeOpenAIServer, completion


def test_auto_resolves_by_provider_and_explicit_settings_win(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    hosted = resolve_profile(load_settings(repo, env={}, flags={}), "anthropic")
    assert (hosted.edit_format, hosted.lean, hosted.temperature, hosted.max_tokens) == ("tools", False, None, 8192)
    local = resolve_profile(load_settings(repo, env={}, flags={}), "openai")
    assert (local.edit_format, local.lean, local.temperature, local.max_tokens) == (LOCAL_EDIT_FORMAT, True, 0.0, LEAN_MAX_TOKENS)
    chosen = resolve_profile(load_settings(repo, env={"ONCE_EDIT_FORMAT": "blocks", "ONCE_PROMPT_STYLE": "full",
                                                      "ONCE_TEMPERATURE": "0.7", "ONCE_MAX_TOKENS": "9000"},
                                           flags={}), "openai")
    assert (chosen.edit_format, chosen.lean, chosen.temperature, chosen.max_tokens) == ("blocks", False, 0.7, 9000)
    unset = resolve_profile(load_settings(repo, env={"ONCE_TEMPERATURE": "none"}, flags={}), "openai")
    assert unset.temperature is None, "an explicit none leaves sampling to the server"


def test_a_temperature_out_of_range_is_a_config_error(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    result = cli("config", "set", "temperature", "5", cwd=repo)
    assert result.code == 2 and "from 0 to 2" in result.stderr


SKILLED = {"dates.py": "def weekday(day):\n    return day\n"}
"""With the bundled python-tests skill, whose body starts "## Find the layout first"."""


def _first_user_text(body: dict) -> str:
    content = body["messages"][1]["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_lean_loads_a_skill_only_when_named_and_offers_no_report_tool(tmp_path: Path, cli) -> None:
    repo = make_repo(tmp_path / "r", SKILLED)
    script = [completion(f"dates.py\n```python\ndef weekday(day):\n    return day.{how}()\n```\n")
              for how in ("lower", "upper")]
    with FakeOpenAIServer(list(script)) as server:
        plain = cli("run", "--provider", "openai", "--base-url", server.base_url, "-m", "q", "--db",
                    str(tmp_path / "db"), "-o", "json", "add a pytest test for weekday", cwd=repo)
        named = cli("run", "--provider", "openai", "--base-url", server.base_url, "-m", "q", "--db",
                    str(tmp_path / "db"), "-o", "json", "/python-tests add a pytest test for weekday", cwd=repo)
        first, second = server.requests[0].body, server.requests[1].body
    assert plain.code == 0 and named.code == 0, plain.stderr + named.stderr
    assert "Find the layout first" not in _first_user_text(first) and "python-tests" not in first["messages"][0][
        "content"], "a lean prompt neither lists nor loads a skill it was not asked for"
    assert "Find the layout first" in _first_user_text(second)
    assert "tools" not in first, "no tools (so no report tool) in the lean prompt with text edits"


def test_full_prompt_still_routes_skills_and_offers_the_report_tool(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", SKILLED)
    cassette = write_cassette(tmp_path / "c.json", [message("It returns the day.")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json",
                 "what does the pytest test for weekday check?", cwd=repo)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["type"] == "context_loaded" and e["kind"] == "skill" for e in events)


def test_a_failure_task_in_lean_starts_from_the_failing_checks(tmp_path: Path, cli) -> None:
    repo = make_repo(tmp_path / "r", {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"})
    fix = "calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n"
    with FakeOpenAIServer([completion(fix)]) as server:
        result = cli("run", "--provider", "openai", "--base-url", server.base_url, "-m", "q", "--db",
                     str(tmp_path / "db"), "-o", "json", "The tests fail; fix calc.py", cwd=repo)
        first = _first_user_text(server.requests[0].body)
    assert result.code == 0 and result.json()["status"] == "done", result.stdout
    assert "run before you start" in first and "assert -1 == 5" in first
    assert "Checks: passed" in result.json()["result"]


def test_root_level_test_files_are_a_pytest_check(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"calc.py": "x = 1\n", "test_calc.py": "def test_x():\n    pass\n"})
    (check,) = detect_checks(repo)
    assert check.name == "pytest" and check.command.endswith("-m pytest -q")
    assert detect_checks(make_repo(tmp_path / "s", {"calc.py": "x = 1\n"})) == []


def test_plain_rendering_shows_whole_files_within_the_budget(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "A = 1\n", "b.py": "B = 2\n" * 200, "c.md": "```\ncode\n```\n"})
    shown, left_out = render_plain(repo, ["a.py", "b.py", "c.md", "missing.py"], budget_chars=200)
    assert shown.startswith("a.py\n```\nA = 1\n```") and "c.md\n````\n```\ncode\n```\n````" in shown
    assert left_out == ["b.py"] and len(shown) <= 200


def test_a_replayed_local_recording_talks_to_the_model_as_the_recording_did(cli, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "def f():\n    return 1\n"})
    reply = completion("a.py\n```python\ndef f():\n    return 2\n```\n")
    cassette = tmp_path / "rec.json"
    with FakeOpenAIServer([reply]) as server:
        live = cli("run", "--provider", "openai", "--base-url", server.base_url, "-m", "q", "--db",
                   str(tmp_path / "db"), "--record", str(cassette), "-o", "json", "make f return 2", cwd=repo)
    assert live.code == 0 and json.loads(cassette.read_text())["provider"] == "openai"
    from tests.conftest import git

    git(repo, "reset", "-q", "--hard", "HEAD~1")
    replayed = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", "make f return 2",
                   cwd=repo)
    # The reply holds a whole file and no tool call: only a replay that reads text edits lands it.
    assert replayed.code == 0 and replayed.json()["files_changed"] == ["a.py"]
    assert (repo / "a.py").read_text() == "def f():\n    return 2\n"


def test_the_examples_use_the_file_whose_echo_is_refused() -> None:
    from once.agent.prompt import EDIT_INSTRUCTIONS, EXAMPLE_PATH

    assert all(f"\n{EXAMPLE_PATH}\n" in EDIT_INSTRUCTIONS[name] for name in ("blocks", "whole"))
