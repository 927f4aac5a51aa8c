"""Real `agent run` processes killed with SIGKILL, then the next command: nothing the killed run
landed stays uncommitted, no temp file stays, and `agent log` shows what the run did."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block

SEED = 9
KILLS = 7
TURNS = 12
ENV = {"ONCE_SANDBOX": "off"}


def start_run(repo: Path, db: Path, cassette: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "once", "run", "--replay", str(cassette), "--db", str(db), "go"],
        cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        env={**os.environ, **ENV, **(env or {})})


def turn(number: int, writes: dict[str, str]) -> dict:
    calls = [tool_use_block(f"w{number}_{n}", "write_file", {"path": path, "content": content})
             for n, (path, content) in enumerate(writes.items())]
    return message([text_block(f"Step {number}."), *calls])


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with closing(sqlite3.connect(db, timeout=5)) as conn:
            return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []


def wait_for_commits(db: Path, known: set[str], count: int, proc: subprocess.Popen[bytes]) -> str | None:
    """The id of the new run once it logged `count` commits (None if it ended or never started)."""
    deadline = time.monotonic() + 60  # a busy machine starts a Python process slowly
    while time.monotonic() < deadline and proc.poll() is None:
        ids = [row[0] for row in query(db, "SELECT id FROM runs ORDER BY started_at DESC") if row[0] not in known]
        if ids:
            done = query(db, "SELECT COUNT(*) FROM events WHERE run_id = ? AND type = 'commit'", (ids[0],))
            if done and done[0][0] >= count:
                return ids[0]
        time.sleep(0.01)
    return None


def agent_commits(repo: Path, run_id: str) -> int:
    bodies = git(repo, "log", "--format=%B%x00").split("\0")
    return sum(1 for body in bodies if f"Agent-Run: {run_id}" in body)


def assert_recovered(repo: Path, run: dict, written: dict[str, set[str]]) -> None:
    """The tree is clean, and each file holding what the killed run wrote is in one of its commits."""
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    for path, contents in written.items():
        target = repo / path
        if target.exists() and target.read_text() in contents:
            assert f"Agent-Run: {run['id']}" in git(repo, "log", "-1", "--format=%B", "--", path), path
    made = agent_commits(repo, run["id"])
    assert run["commits"] == made
    if made:
        assert run["turns"] > 0 and run["input_tokens"] > 0  # replayed: tokens, no cost


def test_runs_killed_at_random_points_leave_nothing_behind(cli, repo: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "once.db"
    idle = write_cassette(tmp_path / "idle.json", [message("Nothing to do.")])
    known: set[str] = set()
    killed = 0
    started = time.monotonic()
    for kill in range(KILLS):
        plan = [{f"notes/n{step % 3}.txt": f"kill {kill} step {step}\n",
                 "util.py": f"def helper():\n    return {1000 + kill * 100 + step}\n"} for step in range(TURNS)]
        written: dict[str, set[str]] = {}
        for writes in plan:
            for path, content in writes.items():
                written.setdefault(path, set()).add(content)
        cassette = write_cassette(tmp_path / f"c{kill}.json",
                                  [turn(n, writes) for n, writes in enumerate(plan)] + [message("Done.")])
        proc = start_run(repo, db, cassette)
        # the kill point: after a random number of commits, then a random moment of the next turn
        run_id = wait_for_commits(db, known, rng.randint(0, TURNS // 2), proc)
        time.sleep(rng.uniform(0, 0.1))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        assert run_id is not None, "the run never started"
        # the next command: `agent log`, or the next `agent run` and then `agent log`
        if kill % 2:
            ran = cli("run", "--replay", str(idle), "--db", str(db), "go", cwd=repo)
            assert ran.code == 0, ran.stderr
        listed = cli("log", "--db", str(db), "--json", "--limit", "50", cwd=repo)
        runs = {run["id"]: run for run in listed.json()}
        known.update(runs)
        status = runs[run_id]["status"]
        if proc.returncode == -signal.SIGKILL and status == "done":
            # a slow machine: the run finished its work and the kill landed during interpreter exit
            assert runs[run_id]["commits"] == TURNS
        else:
            assert status == ("killed" if proc.returncode == -signal.SIGKILL else "done")
        assert_recovered(repo, runs[run_id], written)
    assert time.monotonic() - started < 150
    # most kills come mid-run; whether one lands between a turn's writes and its commit is up to
    # timing, so each step of a commit is killed on purpose in the test below
    assert killed >= KILLS - 2


def fake_git(bin_dir: Path, step: str, when: str) -> Path:
    """A `git` that SIGKILLs the agent at the second `git <step>` it runs: instead of running it
    ("instead"), after running it ("after"), or before running it, which it then does half a
    second later, as a git the agent started would go on without it ("late")."""
    real = shutil.which("git")
    counter = bin_dir / "count"
    script = bin_dir / "git"
    bin_dir.mkdir()
    action = {"instead": "kill -9 $PPID; exit 1", "after": f'"{real}" "$@"; kill -9 $PPID; exit 1',
              "late": f'kill -9 $PPID; sleep 0.5; exec "{real}" "$@"'}[when]
    script.write_text(f"""#!/bin/sh
sub=""; skip=0
for arg in "$@"; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$arg" in -c|-C) skip=1;; -*) ;; *) sub=$arg; break;; esac
done
if [ "$sub" = "{step}" ]; then
  n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "{counter}"
  if [ $n = 2 ]; then
    {action}
  fi
fi
exec "{real}" "$@"
""")
    script.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("step, when", [("add", "instead"), ("add", "after"), ("commit", "after"), ("commit", "late")],
                         ids=["landed-not-staged", "staged-not-committed", "committed-not-recorded",
                              "committed-after-the-kill"])
def test_a_run_killed_at_each_step_of_its_commit(cli, repo: Path, tmp_path: Path, step: str, when: str) -> None:
    db = tmp_path / "once.db"
    cassette = write_cassette(tmp_path / "c.json", [
        turn(1, {"first.txt": "one\n"}),
        turn(2, {"util.py": "def helper():\n    return 2\n", "second.txt": "two\n"}),
        message("never reached"),
    ])
    bin_dir = fake_git(tmp_path / "bin", step, when)
    proc = start_run(repo, db, cassette, env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert proc.wait(timeout=90) == -signal.SIGKILL
    listed = cli("log", "--db", str(db), "--json", cwd=repo)
    (run,) = listed.json()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert (repo / "util.py").read_text() == "def helper():\n    return 2\n" and (repo / "second.txt").exists()
    subjects = git(repo, "log", "--format=%s").splitlines()
    if step == "commit":  # git finished the commit after the kill (even after the next command started):
        # nothing to recover, but it counts
        assert f"agent: recover edits of killed run {run['id']}" not in subjects
    else:
        assert subjects[0] == f"agent: recover edits of killed run {run['id']}"
        assert "committed now" in listed.stderr
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["second.txt", "util.py"]
    assert run["status"] == "killed" and run["turns"] == 2 and run["commits"] == 2 and run["input_tokens"] > 0
    assert agent_commits(repo, run["id"]) == 2
    shown = cli("log", "--db", str(db), run["id"], cwd=repo).stdout
    assert "2 turns · 2 commits" in shown
    assert json.loads(cli("log", "--db", str(db), "--json", cwd=repo).stdout)[0]["status"] == "killed"
