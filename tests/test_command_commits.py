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
    assert "The agent undid them" in told and "settings.py" in told and SECRET not in told
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
    assert [e["path"] for e in blocked] == ["(a commit's message, author or headers)"] and blocked[0]["kinds"]


TOKEN = "ghp_Xk3v9QmZ2pL8rT4wY7nB1cD5fH6jK0sA2eR9"


def _warnings(tmp_path, result) -> list[str]:
    return [e["message"] for e in _events(tmp_path, result) if e["type"] == "warning"]


@pytest.mark.parametrize("command", [
    f"git commit -q --allow-empty -m x --author='{TOKEN} <a@example.com>'",  # the author
    f"ln -s {TOKEN} link && git add link && {COMMIT} -m l",  # a symlink's target
    f"echo hi > '{TOKEN}.txt' && git add -A && {COMMIT} -m f",  # a file's name
])
def test_a_secret_anywhere_in_a_new_commit_is_caught(cli, repo, tmp_path, command: str) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    result = run_command(cli, repo, tmp_path, command)
    assert git(repo, "rev-parse", "HEAD").strip() == head  # undone
    assert TOKEN not in git(repo, "log", "--all", "--format=%an %B", "--name-only", "-p")
    assert any("undid" in w for w in _warnings(tmp_path, result))


@pytest.mark.parametrize("command", [
    f"{WRITE} && git add settings.py && {COMMIT} -m s && git tag keep",  # another ref to the same commit
    f"git tag -a v1 -m 'key {TOKEN}'",  # a tag's message
    f"git tag blob $(printf '{TOKEN}' | git hash-object -w --stdin)",  # a ref to a blob
    f"{WRITE} && git add settings.py && c=$(git commit-tree $(git write-tree) -p HEAD -m s) && "
    "git update-ref refs/remotes/origin/feature $c && git reset -q settings.py",  # a remote-tracking ref
])
def test_a_secret_other_refs_hold_is_reported_not_undone(cli, repo, tmp_path, command: str) -> None:
    result = run_command(cli, repo, tmp_path, command)
    assert any("does not undo" in w for w in _warnings(tmp_path, result)), _warnings(tmp_path, result)


def test_a_replace_ref_hides_nothing_from_the_check_or_the_turns_commit(cli, repo, tmp_path) -> None:
    command = (f"{WRITE} && git add settings.py && {COMMIT} -m 'add s' && "
               "clean=$(git commit-tree HEAD~1^{tree} -p HEAD~1 -m 'add s') && git replace HEAD $clean && "
               "git rm -q --cached settings.py && rm settings.py && sed -i 's/return 1/return 9/' util.py")
    result = run_command(cli, repo, tmp_path, command)
    assert SECRET not in git(repo, "--no-replace-objects", "log", "--all", "-p")  # undone, stand-in dropped
    assert git(repo, "replace", "-l") == ""
    assert any("undid" in w and "settings.py" in w for w in _warnings(tmp_path, result))


def test_merging_a_branch_that_already_held_a_secret_is_left_alone(cli, repo, tmp_path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "fixture.py").write_text(f'TOKEN = "{TOKEN}"\n')
    git(repo, "add", "fixture.py")
    git(repo, "commit", "-qm", "fixture")
    git(repo, "checkout", "-q", "-")
    (repo / "README.md").write_text("more\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "readme")
    result = run_command(cli, repo, tmp_path, "git merge -q --no-edit feature")
    assert git(repo, "log", "-1", "--format=%P").count(" ") == 1  # the merge stands
    assert not _warnings(tmp_path, result)


def test_a_git_error_while_checking_is_reported_not_a_crash(cli, repo, tmp_path) -> None:
    command = (f"{WRITE} && git add settings.py && {COMMIT} -m s && "
               "t=$(printf 'x' | git hash-object -w --stdin) && "
               "c=$(printf 'tree %s\\nauthor a <a@b> 0 +0000\\ncommitter a <a@b> 0 +0000\\n\\nbad\\n' $t | "
               "git hash-object -t commit -w --stdin --literally) && git update-ref refs/broken $c")
    result = run_command(cli, repo, tmp_path, command)
    assert result.json()["status"] == "done"
    assert any("could not check" in w or "does not undo" in w for w in _warnings(tmp_path, result))


def test_a_secret_a_command_only_stages_is_unstaged(cli, repo, tmp_path) -> None:
    result = run_command(cli, repo, tmp_path, f"{WRITE} && git add settings.py")
    assert git(repo, "diff", "--cached", "--name-only") == ""  # the user's next commit does not take it
    assert SECRET in (repo / "settings.py").read_text()
    assert [e["path"] for e in _events(tmp_path, result) if e["type"] == "secret_blocked"] == ["settings.py"]


def test_a_file_name_that_is_not_utf8_is_no_crash(cli, repo, tmp_path) -> None:
    command = f"printf 'AWS_SECRET_ACCESS_KEY = \"{SECRET}\"\\n' > \"$(printf 's\\377.py')\" && git add -A && {COMMIT} -m s"
    result = run_command(cli, repo, tmp_path, command)
    assert result.json()["status"] == "done"
    assert SECRET not in git(repo, "log", "--all", "-p")


def test_a_fast_forward_to_an_upstream_fetched_before_is_left_alone(cli, repo, tmp_path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "fixture.py").write_text(f'TOKEN = "{TOKEN}"\n')  # upstream's own fixture, fetched earlier
    git(repo, "add", "fixture.py")
    git(repo, "commit", "-qm", "upstream")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "reset", "-q", "--hard", head)
    result = run_command(cli, repo, tmp_path, "git merge -q --ff-only origin/main")
    assert git(repo, "rev-parse", "HEAD").strip() == git(repo, "rev-parse", "origin/main").strip()
    assert not _warnings(tmp_path, result)


def test_more_new_commits_than_are_read_are_said_not_passed_over(cli, repo, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("once.agent.command_commits.MAX_SCANNED_COMMITS", 2)
    command = " && ".join(f"{COMMIT} --allow-empty -m c{n}" for n in range(3))
    result = run_command(cli, repo, tmp_path, command)
    assert any("could not check" in w and "3 new commits" in w for w in _warnings(tmp_path, result))
