"""How a run treats the repository around it: ignored files, command edits, merges, other runs."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block


def run(cli, repo, tmp_path, *responses, extra=("--permission-mode", "full-auto")):
    cassette = write_cassette(tmp_path / "c.json", list(responses))
    return cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", *extra, "go", cwd=repo)


def test_an_existing_ignored_file_is_never_overwritten(cli, repo, tmp_path):
    (repo / ".gitignore").write_text(".env\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore .env")
    (repo / ".env").write_text("SECRET=mine\n")
    attempts = [tool_use_block("t1", "write_file", {"path": ".env", "content": "SECRET=theirs\n"}),
                tool_use_block("t2", "edit_file", {"path": ".env", "old_string": "mine", "new_string": "x"})]
    result = run(cli, repo, tmp_path, message(attempts), message("left it alone"))
    assert result.code == 0, result.stderr
    assert (repo / ".env").read_text() == "SECRET=mine\n"
    assert result.json()["files_changed"] == []


def test_a_new_ignored_file_is_written_and_reported(cli, repo, tmp_path):
    (repo / ".gitignore").write_text("local.cfg\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    write = tool_use_block("t1", "write_file", {"path": "local.cfg", "content": "x=1\n"})
    result = run(cli, repo, tmp_path, message([write]), message("ok"))
    assert result.code == 0
    assert result.json()["files_changed"] == ["local.cfg"] and result.json()["commits"] == []


def test_files_a_command_changes_are_committed_with_the_turn(cli, repo, tmp_path):
    command = ("sed -i 's/return 1/return 9/' util.py && echo generated > gen.txt && "
               "mkdir -p __pycache__ && touch __pycache__/util.cpython-311.pyc")
    turn = message([text_block("Regenerate."), tool_use_block("t1", "run_command", {"command": command})])
    result = run(cli, repo, tmp_path, turn, message("done"))
    assert result.code == 0, result.stderr
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(files) == ["gen.txt", "util.py"]
    assert git(repo, "log", "-1", "--format=%s").strip() == "agent: regenerate"
    assert git(repo, "status", "--porcelain").strip() == "?? __pycache__/"


def test_a_file_a_command_writes_a_secret_into_stays_out_of_the_commit(cli, repo, tmp_path):
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    command = (f"printf 'AWS_SECRET_ACCESS_KEY = \"{secret}\"\\n' > settings.py && "
               "sed -i 's/return 1/return 9/' util.py")
    turn = message([tool_use_block("t1", "run_command", {"command": command})])
    result = run(cli, repo, tmp_path, turn, message("done"))
    assert result.code == 0, result.stderr
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["util.py"]
    assert secret in (repo / "settings.py").read_text()  # left on disk for the user, uncommitted
    assert "?? settings.py" in git(repo, "status", "--porcelain")
    assert secret not in git(repo, "log", "--all", "-p")
    from once.store import Store

    with Store(tmp_path / "db") as store:
        events = store.run_events(result.json()["run_id"])
    blocked = [e for e in events if e["type"] == "secret_blocked"]
    assert [e["path"] for e in blocked] == ["settings.py"] and blocked[0]["kinds"]
    told = [e for e in events if e["type"] == "tool_result"]
    assert "Not committed: the command wrote a secret into settings.py" in told[0]["output"]


def _committed_everywhere(repo) -> str:
    return git(repo, "log", "--all", "-p")


def test_a_secret_a_second_command_adds_to_a_file_the_turn_already_changed_is_not_committed(cli, repo, tmp_path):
    # The first command puts util.py into the turn; the second writes a key into it. The file was
    # already changed before the second command ran, so only the scan at commit time sees the key.
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    first = tool_use_block("t1", "run_command", {"command": "sed -i 's/return 1/return 9/' util.py"})
    second = tool_use_block("t2", "run_command", {"command": f"echo 'X_SECRET = \"{secret}\"' >> util.py"})
    result = run(cli, repo, tmp_path, message([first, second]), message("done"))
    assert result.code == 0, result.stderr
    assert secret in (repo / "util.py").read_text()  # left on disk, uncommitted
    assert secret not in _committed_everywhere(repo)
    assert result.json()["commits"] == []
    from once.store import Store

    with Store(tmp_path / "db") as store:
        events = store.run_events(result.json()["run_id"])
    assert [e["path"] for e in events if e["type"] == "secret_blocked"] == ["util.py"]


def test_an_edit_to_a_file_a_command_wrote_a_secret_into_does_not_carry_the_secret_into_a_commit(cli, repo, tmp_path):
    # The command's file is held out; an edit tool then changes another line of it. The edit
    # itself adds no secret (the gate compares with the file on disk), and the file is not the
    # user's to save in a wip commit: the scan at commit time keeps it out.
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    command = tool_use_block("t1", "run_command",
                             {"command": f"printf 'X = 1\\nX_SECRET = \"{secret}\"\\n' > settings.py"})
    edit = tool_use_block("t2", "edit_file", {"path": "settings.py", "old_string": "X = 1", "new_string": "X = 2"})
    result = run(cli, repo, tmp_path, message([command, edit]), message("done"))
    assert result.code == 0, result.stderr
    assert (repo / "settings.py").read_text() == f'X = 2\nX_SECRET = "{secret}"\n'
    assert secret not in _committed_everywhere(repo)
    assert result.json()["commits"] == []
    assert "?? settings.py" in git(repo, "status", "--porcelain")


def test_the_agent_can_take_back_a_secret_its_command_wrote_and_commit_the_file(cli, repo, tmp_path):
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    command = tool_use_block("t1", "run_command",
                             {"command": f"printf 'import os\\nX_SECRET = \"{secret}\"\\n' > settings.py"})
    fix = tool_use_block("t2", "edit_file", {"path": "settings.py", "old_string": f'"{secret}"',
                                             "new_string": 'os.environ["X_SECRET"]'})
    result = run(cli, repo, tmp_path, message([command]), message([fix]), message("done"))
    assert result.code == 0, result.stderr
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["settings.py"]
    assert [c["kind"] for c in result.json()["commits"]] == ["agent"]
    assert secret not in _committed_everywhere(repo)


def test_the_users_uncommitted_secret_is_never_saved_in_a_wip_commit(cli, repo, tmp_path):
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    (repo / "util.py").write_text(f'def helper():\n    return 1\nX_SECRET = "{secret}"\n')
    edit = {"path": "util.py", "old_string": "return 1", "new_string": "return 2"}
    attempts = [message([tool_use_block("t1", "edit_file", edit)]), message([tool_use_block("t2", "edit_file", edit)])]
    result = run(cli, repo, tmp_path, *attempts, message("done"))
    assert result.code == 0, result.stderr
    assert "return 1" in (repo / "util.py").read_text()  # not edited, twice: that would commit the user's key
    assert secret not in _committed_everywhere(repo)
    assert result.json()["commits"] == []


def test_files_without_secrets_in_the_same_turn_are_still_committed(cli, repo, tmp_path):
    secret = "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8mQ2rT"
    first = tool_use_block("t1", "run_command", {"command": "echo generated > gen.txt && echo x > settings.py"})
    second = tool_use_block("t2", "run_command", {"command": f"echo 'X_SECRET = \"{secret}\"' >> settings.py"})
    result = run(cli, repo, tmp_path, message([first, second]), message("done"))
    assert result.code == 0, result.stderr
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["gen.txt"]
    assert secret not in _committed_everywhere(repo)


def test_a_command_does_not_fold_the_users_changes_into_a_commit(cli, repo, tmp_path):
    (repo / "README.md").write_text("# sample\nmine\n")
    turn = message([tool_use_block("t1", "run_command", {"command": "echo more >> README.md"})])
    result = run(cli, repo, tmp_path, turn, message("done"))
    assert result.code == 0
    assert result.json()["commits"] == []
    assert (repo / "README.md").read_text() == "# sample\nmine\nmore\n"


def test_a_run_refuses_to_start_in_the_middle_of_a_merge(cli, repo, tmp_path):
    git(repo, "checkout", "-qb", "other")
    (repo / "util.py").write_text("def helper():\n    return 'other'\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "util.py").write_text("def helper():\n    return 'main'\n")
    git(repo, "commit", "-qam", "main")
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    result = run(cli, repo, tmp_path, message("hi"))
    assert result.code == 1
    assert "merge is in progress" in result.json()["error"]["message"]


def test_two_runs_in_one_repository_do_not_interleave(cli, repo, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from once.vcs import GitRepo\n"
         "with GitRepo.open(Path(sys.argv[1])).lock('r-other'):\n"
         "    print('locked', flush=True); time.sleep(30)\n", str(repo)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run(cli, repo, tmp_path, message("hi"))
        assert result.code == 1
        assert "another agent run (r-other" in result.json()["error"]["message"]
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    time.sleep(0.1)
    assert run(cli, repo, tmp_path, message("hi")).code == 0
