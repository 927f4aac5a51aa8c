"""Commits the model makes itself with `git commit` in a command (outside the sandbox, where
`.git` is writable): one that adds a secret is undone, or reported when it cannot be."""

from __future__ import annotations

import pytest

from once.store import Store
from tests.conftest import git
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_run_repo_state import run

SECRET = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
WRITE = f"printf 'AWS_SECRET_ACCESS_KEY = \"{SECRET}\"\\n' > settings.py"
COMMIT = "git commit -q --no-verify"


@pytest.fixture(autouse=True)
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONCE_SANDBOX", "off")  # in the sandbox `.git` is read-only: no such commit


def run_command(cli, repo, tmp_path, command: str, use_id: str = "t1"):
    """A run whose one turn runs `command`, then says done."""
    result = run(cli, repo, tmp_path, message([tool_use_block(use_id, "run_command", {"command": command})]),
                 message("done"))
    assert result.code == 0, result.stderr
    return result


def _events(tmp_path, result) -> list[dict]:
    with Store(tmp_path / "db") as store:
        return store.run_events(result.json()["run_id"])


def test_a_commit_of_the_models_own_that_adds_a_secret_is_undone_and_the_file_held(cli, repo, tmp_path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    command = f"{WRITE} && sed -i 's/return 1/return 9/' util.py && git add -A && {COMMIT} -m 'add settings'"
    result = run_command(cli, repo, tmp_path, command)
    assert SECRET not in git(repo, "log", "--all", "-p")  # in no commit of any branch
    assert SECRET in (repo / "settings.py").read_text()  # kept on disk for the user
    assert "?? settings.py" in git(repo, "status", "--porcelain")  # neither committed nor staged
    # The rest of what the command committed is the turn's own commit now, on top of where HEAD was.
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["util.py"]
    assert "Agent-Run: " in git(repo, "log", "-1", "--format=%B")
    events = _events(tmp_path, result)
    assert [e["path"] for e in events if e["type"] == "secret_blocked"] == ["settings.py"]
    told = next(e for e in events if e["type"] == "tool_result")["output"]
    assert "The agent undid it" in told and "settings.py" in told and SECRET not in told
    assert any("undid" in e["message"] for e in events if e["type"] == "warning")


def test_a_secret_one_commit_adds_and_the_next_removes_is_still_caught(cli, repo, tmp_path) -> None:
    command = (f"{WRITE} && git add settings.py && {COMMIT} -m one && echo 'X = 1' > settings.py && "
               f"{COMMIT} -am two")
    run_command(cli, repo, tmp_path, command)
    assert SECRET not in git(repo, "log", "--all", "-p")
    assert (repo / "settings.py").read_text() == "X = 1\n"


def test_a_commit_on_another_branch_is_reported_not_rewritten(cli, repo, tmp_path) -> None:
    command = f"git checkout -q -b side && {WRITE} && git add settings.py && {COMMIT} -m side && git checkout -q -"
    result = run_command(cli, repo, tmp_path, command)
    assert SECRET in git(repo, "log", "side", "-p")  # not the agent's to rewrite
    events = _events(tmp_path, result)
    warned = [e["message"] for e in events if e["type"] == "warning"]
    assert any("does not undo" in w and "settings.py" in w for w in warned)
    assert [e["path"] for e in events if e["type"] == "secret_blocked"] == ["settings.py"]


def test_a_commit_of_the_models_own_without_a_secret_stays(cli, repo, tmp_path) -> None:
    command = f"sed -i 's/return 1/return 9/' util.py && {COMMIT} -qam 'nine'"
    result = run_command(cli, repo, tmp_path, command)
    assert git(repo, "log", "-1", "--format=%s").strip() == "nine"
    assert not [e for e in _events(tmp_path, result) if e["type"] in ("warning", "secret_blocked")]


def test_on_a_branch_with_no_commit_yet_the_commit_is_undone_too(cli, tmp_path) -> None:
    from tests.conftest import init_repo

    repo = init_repo(tmp_path / "fresh")
    command = f"{WRITE} && echo 'X = 1' > other.py && git add -A && {COMMIT} -m first"
    run_command(cli, repo, tmp_path, command)
    assert SECRET not in git(repo, "log", "--all", "-p")
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["other.py"]  # the turn's commit
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert "?? settings.py" in git(repo, "status", "--porcelain")


def test_a_check_that_commits_a_secret_has_its_commit_undone(cli, repo, tmp_path) -> None:
    import os
    from pathlib import Path

    script = tmp_path / "check.sh"
    script.write_text(f"{WRITE}\ngit add settings.py\n{COMMIT} -m 'from a check'\n")
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "once" / "config.toml"
    user_config.parent.mkdir(parents=True, exist_ok=True)
    user_config.write_text(f'[verify]\ntest_command = "sh {script}"\n')
    write = tool_use_block("t1", "write_file", {"path": "notes.txt", "content": "n\n"})
    result = run(cli, repo, tmp_path, message([write]), message("done"))
    assert result.code == 0, result.stderr
    assert SECRET not in git(repo, "log", "--all", "-p")
    assert "settings.py" in git(repo, "status", "--porcelain") and SECRET in (repo / "settings.py").read_text()
    events = _events(tmp_path, result)
    assert any(e["type"] == "test_result" for e in events)
    assert any("undid" in e["message"] for e in events if e["type"] == "warning")


def test_an_amended_commit_is_undone_and_a_stash_reported(cli, repo, tmp_path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    amend = f"{WRITE} && git add settings.py && {COMMIT} --amend -m amended"
    result = run_command(cli, repo, tmp_path, amend)
    assert SECRET not in git(repo, "log", "--all", "-p") and git(repo, "rev-parse", "HEAD").strip() == head
    stash = f"{WRITE} && git add settings.py && git stash -q"
    result = run_command(cli, repo, tmp_path, stash, "t2")
    assert any("does not undo" in e["message"] for e in _events(tmp_path, result) if e["type"] == "warning")


def test_a_secret_in_the_message_of_a_commit_of_the_models_own_is_caught_too(cli, repo, tmp_path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    command = f"sed -i 's/return 1/return 9/' util.py && {COMMIT} -qam 'key AWS_SECRET_ACCESS_KEY={SECRET}'"
    result = run_command(cli, repo, tmp_path, command)
    assert SECRET not in git(repo, "log", "--all", "--format=%B")
    assert git(repo, "rev-parse", "HEAD~1").strip() == head  # the change itself is the turn's commit
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["util.py"]
    blocked = [e for e in _events(tmp_path, result) if e["type"] == "secret_blocked"]
    assert [e["path"] for e in blocked] == [""] and blocked[0]["kinds"]
