"""`agent undo`, `agent demo`, Ctrl-C, and the fast start of `agent --help`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import git, run_agent_subprocess, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block


def edit(id_: str, old: str, new: str, path: str = "util.py") -> dict:
    return tool_use_block(id_, "edit_file", {"path": path, "old_string": old, "new_string": new})


def two_commit_run(cli, repo, tmp_path) -> dict:
    responses = [
        message([text_block("First change."), edit("t1", "return 1", "return 2")]),
        message([text_block("Second change."), edit("t2", "return 2", "return 3")]),
        message("Done."),
    ]
    cassette = write_cassette(tmp_path / "c.json", responses)
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", "go", cwd=repo)
    assert result.code == 0, result.stderr
    return result.json()


def test_undo_removes_the_last_agent_commit(cli, repo, tmp_path):
    run = two_commit_run(cli, repo, tmp_path)
    result = cli("undo", "--db", str(tmp_path / "db"), "--json", cwd=repo)
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["method"] == "reset" and data["shas"] == [run["commits"][1]["sha"]]
    assert (repo / "util.py").read_text() == "def helper():\n    return 2\n"
    assert git(repo, "log", "-1", "--format=%s").strip() == "agent: first change"
    db = sqlite3.connect(tmp_path / "db")
    undo_events = db.execute("SELECT data FROM events WHERE type='undo'").fetchall()
    db.close()
    assert len(undo_events) == 1 and json.loads(undo_events[0][0])["run_id"] == run["run_id"]


def test_undo_run_removes_every_commit_of_the_run(cli, repo, tmp_path):
    run = two_commit_run(cli, repo, tmp_path)
    result = cli("undo", "--run", run["run_id"], "--db", str(tmp_path / "db"), cwd=repo)
    assert result.code == 0, result.stderr
    assert "removed 2 commits" in result.stdout
    assert (repo / "util.py").read_text() == "def helper():\n    return 1\n"
    assert git(repo, "log", "--format=%s").splitlines() == ["initial"]


def test_undo_refuses_a_user_commit_and_changed_files(cli, repo, tmp_path):
    two_commit_run(cli, repo, tmp_path)
    (repo / "util.py").write_text("def helper():\n    return 99\n")
    changed = cli("undo", "--db", str(tmp_path / "db"), cwd=repo)
    assert changed.code == 1 and "util.py" in changed.stderr and "changed since" in changed.stderr
    git(repo, "commit", "-qam", "my own work")
    mine = cli("undo", "--db", str(tmp_path / "db"), cwd=repo)
    assert mine.code == 1 and "my own work" in mine.stderr
    assert (repo / "util.py").read_text() == "def helper():\n    return 99\n"


def test_ctrl_c_during_a_command_stops_cleanly_and_commits_what_landed(repo, tmp_path):
    responses = [
        message([text_block("Edit, then run."), edit("t1", "return 1", "return 5"),
                 tool_use_block("t2", "run_command", {"command": "kill -INT $PPID; sleep 5"}),
                 edit("t3", "# sample", "# changed", path="README.md")]),
        message("never reached"),
    ]
    cassette = write_cassette(tmp_path / "c.json", responses)
    # `kill -INT $PPID` reaches the agent only outside the sandbox (its own pid namespace).
    proc = run_agent_subprocess("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", "go",
                                "--permission-mode", "full-auto", cwd=repo, env={"ONCE_SANDBOX": "off"})
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "interrupted" and data["turns"] == 1
    # the edit that landed before the command is committed; the one after it never happened
    assert (repo / "util.py").read_text() == "def helper():\n    return 5\n"
    assert (repo / "README.md").read_text() == "# sample\n"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["util.py"]
    db = sqlite3.connect(tmp_path / "db")
    status = db.execute("SELECT status FROM runs").fetchone()[0]
    last = json.loads(db.execute("SELECT content FROM messages ORDER BY id DESC LIMIT 1").fetchone()[0])
    db.close()
    assert status == "interrupted"
    # every tool call of the interrupted turn has an answer, so --continue can go on
    assert {b["tool_use_id"] for b in last} == {"t1", "t2", "t3"}


def test_demo_runs_the_whole_loop_offline(cli, tmp_path):
    result = cli("demo", "--dir", str(tmp_path / "demo"), "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["status"] == "done" and data["turns"] == 5
    repo = tmp_path / "demo" / "greeter"
    agent = [c for c in data["commits"] if c["kind"] == "agent"]
    assert len(agent) == 1 and agent[0]["files"] == ["cli.py", "greet.py"]
    assert "--shout" in (repo / "cli.py").read_text()
    shown = cli("log", "--db", data["db"], data["run_id"], "--json").json()
    outputs = [e["output"] for e in shown["events"] if e["type"] == "tool_result" and e["name"] == "run_command"]
    assert "HELLO, WORLD!" in outputs[0]
    again = cli("demo", "--dir", str(tmp_path / "demo"))
    assert again.code == 2 and "already exists" in again.stderr
    # running the sample leaves caches behind, and `agent plan` a plan: the sample's .gitignore keeps them out
    for leftover in ("__pycache__/greet.cpython-311.pyc", ".venv/pyvenv.cfg", ".once/plan.md"):
        (repo / leftover).parent.mkdir(exist_ok=True)
        (repo / leftover).write_text("x")
    assert git(repo, "status", "--porcelain") == ""
    assert ".gitignore" in git(repo, "ls-files").split()


def test_demo_removes_its_temporary_repository_unless_kept(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = cli("demo")
    assert result.code == 0, result.stderr
    assert list(tmp_path.iterdir()) == [] and "agent demo --keep" in result.stdout
    kept = cli("demo", "--keep", "--json")
    assert kept.code == 0 and kept.json()["kept"] is True
    assert (Path(kept.json()["repo"]) / "cli.py").is_file()


def test_demo_text_output_says_it_is_a_recording(cli, tmp_path):
    result = cli("demo", "--dir", str(tmp_path / "d"))
    assert result.code == 0
    assert "recording" in result.stderr and "The demo repository is" in result.stdout


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from once.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('anthropic', 'textual', 'numpy', 'git', 'acp', 'once.acp', 'pydantic', 'mcp', 'anyio')"
        " if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "agent run" in proc.stdout or "run" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_every_command_has_help_that_teaches(cli):
    for command in ("run", "demo", "undo", "log", "sessions", "config"):
        result = cli(command, "--help")
        assert result.code == 0 and len(result.stdout) > 200, command
    assert "Exit codes" in cli("run", "--help").stdout


def test_version_and_bare_invocation(cli):
    assert cli("--version").stdout.startswith("once ")
    bare = cli()
    assert bare.code == 2 and "agent demo" in bare.stdout  # no terminal: the help, and a usage error
    assert "needs a terminal" in bare.stderr


def test_an_unexpected_exception_is_reported_without_a_traceback(cli, repo, monkeypatch):
    import once.vcs

    def broken(path):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(once.vcs.GitRepo, "open", staticmethod(broken))
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    result = cli("log", cwd=repo)
    assert result.code == 1
    assert "internal error: RuntimeError: simulated bug" in result.stderr
    assert "ONCE_RAISE_ERRORS=1" in result.stderr and "Traceback" not in result.stderr


def test_a_run_whose_process_was_killed_shows_as_killed(cli, repo, tmp_path):
    import os
    import signal
    import subprocess as sp
    import sys as _sys
    import time

    responses = [message([tool_use_block("t1", "run_command", {"command": "sleep 31.7"})]), message("never")]
    cassette = write_cassette(tmp_path / "c.json", responses)
    proc = sp.Popen([_sys.executable, "-m", "once", "run", "--replay", str(cassette), "--db", str(tmp_path / "db"),
                     "--permission-mode", "full-auto", "go"], cwd=repo, stdout=sp.DEVNULL, stderr=sp.DEVNULL)
    deadline = time.time() + 90  # a busy machine starts a Python process slowly
    running = False
    while time.time() < deadline and not running:
        listed = cli("log", "--db", str(tmp_path / "db"), "--json", cwd=repo)
        running = listed.code == 0 and bool(listed.json()) and listed.json()[0]["status"] == "running"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    assert running, "the run never showed as running"
    proc.wait()
    runs = cli("log", "--db", str(tmp_path / "db"), "--json", cwd=repo).json()
    assert runs[0]["status"] == "killed" and runs[0]["finished_at"]
    # its counters were kept as it went: the turn it was killed in, and that turn's tokens and cost
    assert runs[0]["turns"] == 1 and runs[0]["input_tokens"] > 0
    assert runs[0]["commits"] == 0
    sp.run(["pkill", "-f", "sleep 31.7"], check=False)  # the orphaned command of the killed run
