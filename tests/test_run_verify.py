"""The verification loop: checks after editing turns, failures fed back, retries bounded."""

from __future__ import annotations

import json
import sqlite3
import sys

from pathlib import Path

import pytest

from once.safety.sandbox import sandbox_state
from tests.conftest import make_repo, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block

CALC = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
needs_sandbox = pytest.mark.skipif(not sandbox_state("auto").active, reason=sandbox_state("auto").why_not or "-")


def calc_repo(tmp_path, max_retries: int = 3, when: str = "turn"):
    """A project with a failing test; the user's own config names the test command."""
    import os
    from pathlib import Path

    config = (f'[verify]\ntest_command = "{sys.executable} -m pytest -q -p no:cacheprovider"\n'
              f'max_retries = {max_retries}\nwhen = "{when}"\n')
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "once" / "config.toml"
    user_config.parent.mkdir(parents=True, exist_ok=True)
    user_config.write_text(config)
    return make_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})


def fix(id_: str, old: str, new: str) -> dict:
    return message([text_block(f"Try {new.strip()}."),
                    tool_use_block(id_, "edit_file", {"path": "calc.py", "old_string": old, "new_string": new})])


def run(cli, repo, tmp_path, *responses):
    cassette = write_cassette(tmp_path / "c.json", list(responses))
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json", "fix add",
                 cwd=repo)
    return result, [json.loads(line) for line in result.stdout.splitlines()]


def stored_user_texts(tmp_path) -> list[str]:
    db = sqlite3.connect(tmp_path / "db")
    rows = [json.loads(r[0]) for r in db.execute("SELECT content FROM messages WHERE role='user' ORDER BY id")]
    db.close()
    return [b.get("text", "") for blocks in rows for b in blocks if b.get("type") == "text"]


def test_a_failing_check_is_fed_back_then_fixed(cli, tmp_path):
    repo = calc_repo(tmp_path)
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a * b"), fix("t2", "a * b", "a + b"),
                         message("Fixed add."))
    assert result.code == 0, result.stderr
    checks = [e for e in events if e["type"] == "test_result"]
    assert [c["passed"] for c in checks] == [False, True]
    assert checks[0]["failed_count"] == 1 and checks[0]["signature"].startswith("AssertionError")
    assert [c["turn"] for c in checks] == [1, 2]
    feedback = [t for t in stored_user_texts(tmp_path) if t.startswith("Previous attempt failed")]
    assert len(feedback) == 1 and "test_calc.py::test_add" in feedback[0]
    finished = events[-1]
    assert finished["status"] == "done" and "Checks: passed" in finished["result"]


def test_retries_exhausted_stop_the_run_with_what_was_tried(cli, tmp_path):
    repo = calc_repo(tmp_path, max_retries=1)
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a * b"), fix("t2", "a * b", "a / b"),
                         fix("t3", "a / b", "a + b"))
    assert result.code == 1
    finished = events[-1]
    assert finished["status"] == "checks_failed" and finished["turns"] == 2
    assert "Checks: FAILING" in finished["result"] and "Stopped after 1 failed fix attempt:" in finished["result"]
    assert [c["passed"] for c in events if c["type"] == "test_result"] == [False, False]


def test_stopping_while_checks_fail_is_not_done(cli, tmp_path):
    repo = calc_repo(tmp_path)
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a * b"), message("All done!"),
                         fix("t2", "a * b", "a + b"), message("Now really done."))
    assert result.code == 0
    texts = stored_user_texts(tmp_path)
    assert sum(t.startswith("Previous attempt failed") for t in texts) == 2
    assert events[-1]["result"].startswith("Now really done.") and "Checks: passed" in events[-1]["result"]


def test_checks_once_at_the_end_when_configured(cli, tmp_path):
    repo = calc_repo(tmp_path, when="end")
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a * b"), fix("t2", "a * b", "a + b"),
                         message("Fixed."))
    assert result.code == 0
    checks = [e for e in events if e["type"] == "test_result"]
    assert len(checks) == 1 and checks[0]["passed"] and checks[0]["turn"] == 3


def test_no_checks_found_is_said_plainly(cli, repo, tmp_path):
    cassette = write_cassette(tmp_path / "c.json", [
        message([tool_use_block("t1", "edit_file", {"path": "util.py", "old_string": "1", "new_string": "2"})]),
        message("Changed it.")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", "x", cwd=repo)
    assert result.json()["result"] == "Changed it.\n\nChecks: none found (set verify.test_command to name them)."


def test_a_check_command_from_the_repositorys_config_obeys_the_policy(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ONCE_SANDBOX", "off")
    marker = tmp_path / "pwned"
    hostile = f'[verify]\ntest_command = "touch {marker}"\n'
    repo = make_repo(tmp_path / "hostile", {"calc.py": CALC, ".once/config.toml": hostile})
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a + b"), message("Fixed."))
    assert result.code == 0
    assert not marker.exists()
    assert [e for e in events if e["type"] == "test_result"] == []
    assert "Checks: not run: test:" in events[-1]["result"] and "policy.allow" in events[-1]["result"]


def test_a_detected_check_the_agent_redefined_obeys_the_policy(cli, tmp_path, monkeypatch):
    """A conftest.py the model writes is code pytest would run: after that, the detected check
    is a command the agent wrote, and headless auto-edit without a sandbox has no rule allowing it."""
    monkeypatch.setenv("ONCE_SANDBOX", "off")
    marker = tmp_path / "pwned"
    repo = make_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})
    plant = tool_use_block("t1", "write_file", {"path": "conftest.py",
                                                "content": f"open({str(marker)!r}, 'w').write('x')\n"})
    result, events = run(cli, repo, tmp_path, message([plant]), message("Done."))
    assert result.code in (0, 1), result.stderr
    assert not marker.exists()
    assert [e for e in events if e["type"] == "test_result"] == []
    assert "the agent changed conftest.py, which defines it" in events[-1]["result"]


@needs_sandbox
def test_in_the_sandbox_a_redefined_check_runs_but_cannot_write_outside(cli, tmp_path):
    """With the sandbox in force, auto-edit runs the check the agent redefined, inside it: the
    planted conftest.py runs, and its write outside the repository fails."""
    marker = Path("/var/tmp") / f"once-pwned-{tmp_path.name}"
    repo = make_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})
    plant = tool_use_block("t1", "write_file", {"path": "conftest.py", "content": (
        f"try:\n    open({str(marker)!r}, 'w').write('x')\nexcept OSError:\n    open('blocked.txt', 'w').write('x')\n")})
    try:
        result, events = run(cli, repo, tmp_path, message([plant]), *[message("Done.")] * 5)
        assert not marker.exists()
    finally:
        marker.unlink(missing_ok=True)
    assert result.code in (0, 1), result.stderr
    assert [e for e in events if e["type"] == "test_result"]  # the check ran
    assert (repo / "blocked.txt").exists()  # inside the sandbox, where the write outside failed


def test_a_detected_check_the_agent_left_alone_still_runs(cli, tmp_path):
    repo = make_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a + b"), message("Fixed."))
    assert result.code == 0, result.stderr
    checks = [e for e in events if e["type"] == "test_result"]
    assert checks and checks[-1]["passed"]


def test_a_detected_check_passes_the_gate_too(cli, tmp_path, monkeypatch):
    """Left alone, a detected check runs without a rule, but through the gate: its decision is
    logged like any command's, and the user's deny rules stop it."""
    repo = make_repo(tmp_path / "calc", {"calc.py": CALC, "test_calc.py": TEST})
    result, events = run(cli, repo, tmp_path, fix("t1", "a - b", "a + b"), message("Fixed."))
    decisions = [e for e in events if e["type"] == "permission" and e["kind"] == "command"]
    assert any(e["decision"] == "allow" and e["reason"] == "detected check" for e in decisions), decisions

    denied = make_repo(tmp_path / "denied", {"calc.py": CALC, "test_calc.py": TEST})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config" / "once").mkdir(parents=True)
    (tmp_path / "config" / "once" / "config.toml").write_text('[policy]\ndeny = ["*pytest*"]\n')
    result, events = run(cli, denied, tmp_path, fix("t1", "a - b", "a + b"), message("Fixed."))
    assert [e for e in events if e["type"] == "test_result"] == []
    assert "policy.deny" in events[-1]["result"], events[-1]["result"]


@pytest.mark.parametrize("path", ["env/bin/python", ".pytest.ini", "build/rules.mk", "tests/conftest.py",
                                  ".venv/lib/python3.11/site-packages/x.pth"])
def test_files_that_say_what_a_check_runs(path: str) -> None:
    from once.agent.runner import defines_checks

    assert defines_checks(path)


@pytest.mark.parametrize("path", ["src/env.py", "calc.py", "docs/make.md", "environment/notes.txt"])
def test_files_that_do_not(path: str) -> None:
    from once.agent.runner import defines_checks

    assert not defines_checks(path)
