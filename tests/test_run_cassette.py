"""`agent run` end to end on temp git repos, with the model replayed from cassettes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import git, make_repo, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block


def tool(id_: str, name: str, **arguments: object) -> dict:
    return tool_use_block(id_, name, dict(arguments))


def agent_commits(repo: Path) -> list[str]:
    return [line for line in git(repo, "log", "--format=%H %s").splitlines() if " agent: " in line]


def run(cli, repo: Path, tmp_path: Path, responses: list[dict], *extra: str, prompt: str = "do it"):
    cassette = write_cassette(tmp_path / "c.json", responses)
    return cli("run", "--replay", str(cassette), "--db", str(tmp_path / "once.db"), *extra, prompt, cwd=repo)


def test_multi_turn_run_reads_edits_and_reports(cli, repo, tmp_path):
    responses = [
        message([text_block("Looking around."), tool("t1", "list_files")]),
        message([tool("t2", "read_file", path="cli.py")]),
        message([text_block("Add a --verbose flag."), tool("t3", "edit_file", path="cli.py",
                 old_string="    parser.parse_args()",
                 new_string='    parser.add_argument("--verbose", action="store_true")\n    parser.parse_args()')]),
        message("Added --verbose to cli.py."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["status"] == "done"
    assert data["turns"] == 4
    assert data["result"].startswith("Added --verbose to cli.py.\n\nChecks: none found")
    assert data["files_changed"] == ["cli.py"]
    assert data["usage"]["input_tokens"] == 40 and data["usage"]["output_tokens"] == 20
    assert "--verbose" in (repo / "cli.py").read_text()
    commits = agent_commits(repo)
    assert len(commits) == 1 and commits[0].endswith("agent: add a --verbose flag")
    body = git(repo, "log", "-1", "--format=%B")
    assert f"Agent-Run: {data['run_id']}" in body and "Agent-Model: claude-sonnet-4-6" in body
    assert git(repo, "status", "--porcelain") == ""


def test_two_file_edit_in_one_turn_is_exactly_one_commit(cli, repo, tmp_path):
    responses = [
        message([text_block("Rename the helper."),
                 tool("t1", "edit_file", path="util.py", old_string="def helper", new_string="def assist"),
                 tool("t2", "write_file", path="docs/notes.md", content="assist() returns 1\n")]),
        message("Done."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    commits = agent_commits(repo)
    assert len(commits) == 1
    files = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(files) == ["docs/notes.md", "util.py"]
    assert result.json()["commits"][0]["files"] == ["docs/notes.md", "util.py"]


def test_failing_edit_then_corrected_edit(cli, repo, tmp_path):
    responses = [
        message([tool("t1", "edit_file", path="util.py", old_string="return 2", new_string="return 3")]),
        message([tool("t2", "edit_file", path="util.py", old_string="return 1", new_string="return 3")]),
        message("Fixed."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "stream-json")
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    results = [e for e in events if e["type"] == "tool_result"]
    assert results[0]["is_error"] is True and "return 1" in results[0]["output"]  # did-you-mean excerpt
    assert results[1]["is_error"] is False
    assert (repo / "util.py").read_text() == "def helper():\n    return 3\n"
    assert len(agent_commits(repo)) == 1


def test_run_command_reports_exit_code_and_is_logged(cli, repo, tmp_path):
    responses = [
        message([tool("t1", "run_command", command="echo hello-from-command; exit 3")]),
        message("The command failed with 3."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "stream-json", "--permission-mode", "full-auto")
    assert result.code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    (tool_result,) = [e for e in events if e["type"] == "tool_result"]
    assert tool_result["output"].startswith("Exit code: 3") and "hello-from-command" in tool_result["output"] and "3" in tool_result["output"].splitlines()[0]
    assert tool_result["is_error"] is True
    assert agent_commits(repo) == []
    # stream-json carries the same events as the store
    db = sqlite3.connect(tmp_path / "once.db")
    stored = [row[0] for row in db.execute("SELECT type FROM events ORDER BY run_id, seq")]
    db.close()
    assert stored == [e["type"] for e in events]


def test_dirty_file_user_change_survives_outside_the_agent_commit(cli, repo, tmp_path):
    (repo / "util.py").write_text("def helper():\n    return 1\n# user note\n")
    (repo / "README.md").write_text("# sample\nuser edit, not touched by the agent\n")
    responses = [
        message([text_block("Change the return."),
                 tool("t1", "edit_file", path="util.py", old_string="return 1", new_string="return 2")]),
        message("Done."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    log = git(repo, "log", "--format=%s").splitlines()
    assert log[:2] == ["agent: change the return", "wip: uncommitted changes before agent edit"]
    wip_diff = git(repo, "show", "HEAD~1", "--format=")
    assert "+# user note" in wip_diff and "return 2" not in wip_diff
    agent_diff = git(repo, "show", "HEAD", "--format=")
    assert "+    return 2" in agent_diff and "+# user note" not in agent_diff
    assert "README.md" not in git(repo, "show", "--name-only", "--format=", "HEAD")
    assert (repo / "util.py").read_text() == "def helper():\n    return 2\n# user note\n"
    assert git(repo, "status", "--porcelain").strip() == "M README.md"
    kinds = [c["kind"] for c in result.json()["commits"]]
    assert kinds == ["wip", "agent"]


def test_dirty_refuse_stops_before_editing(cli, repo, tmp_path):
    (repo / "util.py").write_text("def helper():\n    return 5\n")
    responses = [message([tool("t1", "edit_file", path="util.py", old_string="return 5", new_string="return 6")])]
    result = run(cli, repo, tmp_path, responses, "--dirty", "refuse")
    assert result.code == 1
    assert "uncommitted changes" in result.stderr and "util.py" in result.stderr
    assert (repo / "util.py").read_text() == "def helper():\n    return 5\n"
    assert len(git(repo, "log", "--format=%H").split()) == 1


def test_outside_a_git_repo_is_a_clear_usage_error(cli, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    cassette = write_cassette(tmp_path / "c.json", [message("hi")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "hello", cwd=plain)
    assert result.code == 2
    assert "not inside a git repository" in result.stderr
    assert "git init" in result.stderr and "--init" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_the_repo_and_commits(cli, tmp_path):
    plain = tmp_path / "fresh"
    plain.mkdir()
    responses = [message([tool("t1", "write_file", path="hello.py", content="print('hi')\n")]), message("ok")]
    result = run(cli, plain, tmp_path, responses, "--init")
    assert result.code == 0, result.stderr
    assert (plain / ".git").is_dir()
    assert git(plain, "show", "--name-only", "--format=", "HEAD").split() == ["hello.py"]


def test_odd_file_names_work_end_to_end(cli, tmp_path):
    names = ["with space.py", "non\u00a0breaking.txt", "ünïcödé.md", "-leading-dash.py"]
    repo = make_repo(tmp_path / "odd", {name: "old\n" for name in names})
    calls = [tool(f"t{i}", "edit_file", path=name, old_string="old", new_string="new") for i, name in enumerate(names)]
    responses = [message([tool("r0", "list_files")]), message(calls), message("ok")]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    for name in names:
        assert (repo / name).read_text() == "new\n"
    committed = git(repo, "-c", "core.quotepath=off", "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(committed) == sorted(names)


def test_path_escapes_are_refused_and_nothing_outside_changes(cli, repo, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (repo / "link").symlink_to(tmp_path)
    git(repo, "add", "link")
    git(repo, "commit", "-qm", "link")
    attempts = [
        tool("a", "write_file", path="../outside.txt", content="pwned"),
        tool("b", "write_file", path=str(outside), content="pwned"),
        tool("c", "write_file", path="link/outside.txt", content="pwned"),
        tool("d", "write_file", path=".git/hooks/pre-commit", content="pwned"),
        tool("e", "read_file", path="../outside.txt"),
    ]
    result = run(cli, repo, tmp_path, [message(attempts), message("refused")], "-o", "stream-json")
    assert result.code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    outputs = [e for e in events if e["type"] == "tool_result"]
    assert len(outputs) == 5 and all(e["is_error"] for e in outputs)
    assert outside.read_text() == "keep\n"
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert agent_commits(repo) == []


def test_max_turns_stops_with_exit_1(cli, repo, tmp_path):
    responses = [message([tool(f"t{i}", "list_files")]) for i in range(5)]
    result = run(cli, repo, tmp_path, responses, "--max-turns", "2", "-o", "json")
    assert result.code == 1
    assert result.json()["status"] == "max_turns" and result.json()["turns"] == 2


def test_max_cost_stops_the_run(cli, repo, tmp_path):
    expensive = {"input_tokens": 1_000_000, "output_tokens": 0}
    responses = [message([tool(f"t{i}", "list_files")], usage=expensive) for i in range(3)]
    result = run(cli, repo, tmp_path, responses, "--max-cost", "5", "-o", "json")
    data = result.json()
    # the limit counts the recorded tokens at list price ($3 each), as the recorded run did; a replay bills nothing
    assert result.code == 1 and data["status"] == "max_cost"
    assert data["turns"] == 2 and data["usage"]["input_tokens"] == 2_000_000 and data["usage"]["cost_usd"] == 0


def test_cassette_exhausted_is_a_replay_mismatch(cli, repo, tmp_path):
    responses = [message([tool("t1", "list_files")])]
    result = run(cli, repo, tmp_path, responses)
    assert result.code == 4
    assert "has 1 response and the run asked for a response number 2" in result.stderr and "c.json" in result.stderr
    db = sqlite3.connect(tmp_path / "once.db")
    (status,) = db.execute("SELECT status FROM runs").fetchone()
    db.close()
    assert status == "replay_mismatch"


def test_missing_api_key_says_what_to_set_and_exits_3(cli, repo, tmp_path):
    result = cli("run", "--db", str(tmp_path / "db"), "hello", cwd=repo)
    assert result.code == 3
    assert "ANTHROPIC_API_KEY" in result.stderr and "--replay" in result.stderr
    assert "Traceback" not in result.stderr


def test_log_lists_runs_and_shows_one_step_by_step(cli, repo, tmp_path):
    responses = [message([text_block("Edit."), tool("t1", "edit_file", path="util.py", old_string="1",
                                                     new_string="2")]), message("done")]
    run_result = run(cli, repo, tmp_path, responses, "-o", "json")
    run_id = run_result.json()["run_id"]
    db = str(tmp_path / "once.db")
    listed = cli("log", "--db", db, "--json", cwd=repo)
    assert [r["id"] for r in listed.json()] == [run_id]
    shown = cli("log", "--db", db, run_id[:8], cwd=repo)
    assert shown.code == 0 and "edit_file util.py" in shown.stdout and "commit" in shown.stdout
    detail = cli("log", "--db", db, run_id, "--json", cwd=repo).json()
    assert detail["run"]["status"] == "done"
    assert [e["type"] for e in detail["events"]][0] == "run_started"
    missing = cli("log", "--db", db, "r-nope", cwd=repo)
    assert missing.code == 2 and "no run" in missing.stderr


def test_a_turn_that_only_writes_an_ignored_file_makes_no_commit(cli, repo, tmp_path):
    (repo / ".gitignore").write_text("local.cfg\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    responses = [message([tool("t1", "write_file", path="local.cfg", content="x=1\n")]), message("ok")]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    assert (repo / "local.cfg").read_text() == "x=1\n"
    assert result.json()["commits"] == [] and agent_commits(repo) == []


def test_a_name_git_would_refuse_is_a_tool_error_and_the_run_goes_on(cli, repo, tmp_path):
    """`.git\\config` is `.git/config` on Windows, and git refuses to add it: the write is refused
    before anything lands, the model is told, and the run still commits its other edit."""
    responses = [
        message([tool("t1", "write_file", path=".git\\config", content="[core]\n\thooksPath = x\n"),
                 tool("t2", "write_file", path="a\\..\\.git\\hooks\\post-commit", content="#!/bin/sh\nid\n")]),
        message([tool("t3", "write_file", path="notes.md", content="kept\n")]),
        message("Done."),
    ]
    result = run(cli, repo, tmp_path, responses, "-o", "json")
    assert result.code == 0, result.stderr
    assert not (repo / ".git\\config").exists() and not (repo / "a\\..\\.git\\hooks\\post-commit").exists()
    assert (repo / "notes.md").read_text() == "kept\n" and len(agent_commits(repo)) == 1
    assert git(repo, "status", "--porcelain") == ""
