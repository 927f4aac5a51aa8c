"""Recovery after kill -9: the edit journal, the triage of what a killed run left, and recovering it
through `agent run`, `agent log` and `agent undo` (in-process; the real kills are in
test_kill_recovery_subprocess.py)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from once.atomic import is_temp_of, temp_target, write_temp_beside
from once.events import CommitMade, ModelResponse
from once.ids import new_id
from once.agent.progress import RunProgress
from once.recovery.journal import EditJournal, JournaledEdit, blob_id, unsettled_edits
from once.recovery.recover import recover_killed_runs
from once.recovery.triage import Recovery, describe, stale_index, triage
from once.store import RunRecord, Store
from once.vcs import GitRepo
from tests.conftest import git, write_cassette
from tests.fakes.anthropic_server import message, text_block

OLD, NEW = b"def helper():\n    return 1\n", b"def helper():\n    return 2\n"


def dead_pid() -> int:
    """The pid of a process that has exited (and been waited for)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def killed_run(store: Store, repo: Path, *, pid: int | None = None, model: str = "claude-test") -> str:
    run_id = new_id("r")
    store.start_run(RunRecord(id=run_id, session_id=None, repo=str(repo), prompt="edit util", mode="agent",
                              provider="replay", model=model, started_at=time.time() - 5,
                              pid=dead_pid() if pid is None else pid))
    return run_id


def land(store: Store, repo: Path, run_id: str, edits: dict[str, bytes], turn: int = 1) -> None:
    """What a run does before it is killed mid-turn: journal the edits, then write them."""
    olds = {path: (repo / path).read_bytes() if (repo / path).exists() else None for path in edits}
    EditJournal(store.conn, run_id).landing(turn, [(path, olds[path], data) for path, data in edits.items()])
    for path, data in edits.items():
        (repo / path).write_bytes(data)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "once.db") as opened:
        yield opened


def row(store: Store, run_id: str) -> RunRecord:
    found = store.get_run(run_id)
    assert found is not None
    return found


# -- pure parts ----------------------------------------------------------------


def test_blob_id_is_what_git_hash_object_prints(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(NEW)
    printed = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert blob_id(NEW) == printed and blob_id(None) is None


def test_triage_tells_ours_from_unlanded_from_changed() -> None:
    edits = [JournaledEdit("a", 1, blob_id(OLD), blob_id(NEW)), JournaledEdit("b", 1, blob_id(OLD), blob_id(NEW)),
             JournaledEdit("c", 1, blob_id(OLD), blob_id(NEW)), JournaledEdit("new", 1, None, blob_id(NEW)),
             JournaledEdit("gone", 2, blob_id(OLD), None)]
    disk = {"a": blob_id(NEW), "b": blob_id(OLD), "c": blob_id(b"the user's"), "new": None, "gone": None}
    sorted_out = triage(edits, disk)
    assert sorted_out.ours == ["a", "gone"]
    assert sorted_out.unlanded == ["b", "new"]
    assert sorted_out.changed == ["c"]


def test_stale_index_is_only_what_the_run_staged_and_does_not_commit() -> None:
    edits = [JournaledEdit("a", 1, blob_id(OLD), blob_id(NEW)), JournaledEdit("b", 1, blob_id(OLD), blob_id(NEW)),
             JournaledEdit("c", 1, blob_id(OLD), blob_id(NEW))]
    staged = {"a": blob_id(NEW), "b": blob_id(b"staged by the user"), "c": blob_id(NEW)}
    assert stale_index(edits, staged, committed={"c"}) == ["a"]


def test_describe_says_what_happened_and_what_was_left() -> None:
    lines = describe(Recovery("r-1", ["a.py"], sha="abcdef1234", changed=["b.py"], temps=[".a.py.x1y2z3w4.tmp"]))
    assert any("committed now as abcdef12" in line and "a.py" in line for line in lines)
    assert any("b.py changed since" in line and "left alone" in line for line in lines)
    assert any("temp files" in line for line in lines)
    refused = describe(Recovery("r-1", ["a.py"], refused=True))
    assert "--dirty refuse" in refused[0] and "not committed" in refused[0]


def test_temp_names_of_the_atomic_writer_are_recognised(tmp_path: Path) -> None:
    long_name = "x" * 60 + ".py"
    for name in ("util.py", long_name):
        temp = write_temp_beside(tmp_path / name, b"data")
        assert is_temp_of(temp.name, name) and temp_target(temp.name) == name[:40]
        temp.unlink()
    assert not is_temp_of(".util.py.tmp", "util.py") and not is_temp_of(".util.py.abcdefgh.tmp", "other.py")
    assert temp_target("notes.tmp") is None


# -- the journal and the counters of a live run ----------------------------------------


def test_journal_records_before_landing_and_settles_after_the_commit(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo, pid=0)
    journal = EditJournal(store.conn, run_id)
    journal.landing(1, [("util.py", OLD, NEW), ("new.txt", None, b"x")])
    assert [(e.path, e.old_blob, e.new_blob) for e in unsettled_edits(store.conn, run_id)] == [
        ("new.txt", None, blob_id(b"x")), ("util.py", blob_id(OLD), blob_id(NEW))]
    journal.committing(1, {"util.py": blob_id(NEW), "made_by_a_command.txt": blob_id(b"y")})
    journal.settle(["made_by_a_command.txt", "util.py"], "abc")
    states = dict(store.conn.execute("SELECT path, state FROM run_edits WHERE run_id = ?", (run_id,)).fetchall())
    # new.txt was written but kept out of the commit (say git ignores it): never recovered later
    assert states == {"util.py": "committed", "made_by_a_command.txt": "committed", "new.txt": "kept"}
    assert unsettled_edits(store.conn, run_id) == []


def test_run_progress_keeps_the_row_current(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo, pid=0)
    progress = RunProgress(store, run_id)
    usage = {"input_tokens": 100, "output_tokens": 20}
    for turn in (1, 2):
        progress(ModelResponse(run_id=run_id, turn=turn, model="m", stop_reason="tool_use", text="", tool_calls=1,
                               usage=usage, cost_usd=0.25, duration_ms=1.0))
    progress(CommitMade(run_id=run_id, turn=2, sha="abc", subject="agent: x", files=["a"]))
    progress(CommitMade(run_id=run_id, turn=2, sha="def", subject="wip", files=["a"], kind="wip"))
    got = row(store, run_id)
    assert (got.turns, got.input_tokens, got.output_tokens, got.cost_usd, got.commits) == (2, 200, 40, 0.5, 1)


# -- recovering ---------------------------------------------------------------------


def test_recovery_commits_what_the_killed_run_landed(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo, model="claude-sonnet-4-6")
    land(store, repo, run_id, {"util.py": NEW, "added.py": b"x = 1\n"})
    git(repo, "add", "util.py")  # killed between `git add` and the commit
    temp = write_temp_beside(repo / "util.py", b"half")  # and a temp file of the atomic writer
    (done,) = recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert done.committed == ["added.py", "util.py"] and done.sha and done.temps == [temp.name]
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    body = git(repo, "log", "-1", "--format=%B")
    assert body.splitlines()[0] == f"agent: recover edits of killed run {run_id}"
    assert f"Agent-Run: {run_id}" in body and "Agent-Model: claude-sonnet-4-6" in body
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["added.py", "util.py"]
    got = row(store, run_id)
    assert got.status == "killed" and got.finished_at and got.commits == 1
    assert [e["sha"] for e in store.run_events(run_id) if e["type"] == "commit"] == [done.sha]
    assert recover_killed_runs(GitRepo(repo), store, dirty="commit") == []  # nothing left the second time


def test_a_file_the_killed_run_wrote_a_secret_into_is_not_committed(store: Store, repo: Path) -> None:
    key = "sk-ant-api03-" + "Kd8" * 30 + "AA"
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW, "settings.py": f"API_KEY = '{key}'\n".encode()})
    (done,) = recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert done.committed == ["util.py"] and done.secrets == ["settings.py"]
    assert key not in git(repo, "log", "-p", "--all")
    assert (repo / "settings.py").exists()  # left on disk for the user to deal with
    assert any("wrote a secret into settings.py" in line for line in describe(done))


def test_files_changed_since_are_left_alone_and_their_stage_reset(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW, "cli.py": b"print('agent')\n"})
    git(repo, "add", "util.py")
    (repo / "util.py").write_bytes(b"the user's own version\n")
    head = git(repo, "rev-parse", "HEAD")
    (done,) = recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert done.committed == ["cli.py"] and done.changed == ["util.py"] and done.unstaged == ["util.py"]
    assert git(repo, "rev-parse", "HEAD^") == head
    assert (repo / "util.py").read_bytes() == b"the user's own version\n"
    assert git(repo, "status", "--porcelain") == " M util.py\n"  # unstaged, untouched on disk


def test_edits_that_never_landed_leave_nothing_to_commit(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo)
    EditJournal(store.conn, run_id).landing(1, [("util.py", OLD, NEW)])  # killed before the rename
    head = git(repo, "rev-parse", "HEAD")
    (done,) = recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert done.committed == [] and done.sha is None and git(repo, "rev-parse", "HEAD") == head
    assert row(store, run_id).status == "killed" and unsettled_edits(store.conn, run_id) == []


def test_a_commit_git_finished_after_the_kill_is_counted_not_repeated(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW})
    git(repo, "commit", "-q", "-am", f"agent: edit util.py\n\nAgent-Run: {run_id}\nAgent-Model: m")
    head = git(repo, "rev-parse", "HEAD").strip()
    (done,) = recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert done.sha is None and git(repo, "rev-parse", "HEAD").strip() == head
    assert row(store, run_id).commits == 1
    assert [e["sha"] for e in store.run_events(run_id) if e["type"] == "commit"] == [head]


def test_a_commit_the_run_logged_before_the_kill_is_not_counted_twice(store: Store, repo: Path) -> None:
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW})
    git(repo, "commit", "-q", "-am", f"agent: edit util.py\n\nAgent-Run: {run_id}\nAgent-Model: m")
    head = git(repo, "rev-parse", "HEAD").strip()
    RunProgress(store, run_id)(CommitMade(run_id=run_id, turn=1, sha=head, subject="agent: edit", files=["util.py"]))
    store.append_event(CommitMade(run_id=run_id, turn=1, sha=head, subject="agent: edit", files=["util.py"]))
    recover_killed_runs(GitRepo(repo), store, dirty="commit")
    assert row(store, run_id).commits == 1 and row(store, run_id).status == "killed"
    assert len([e for e in store.run_events(run_id) if e["type"] == "commit"]) == 1


def test_a_live_run_is_not_recovered(store: Store, repo: Path) -> None:
    import os

    run_id = killed_run(store, repo, pid=os.getpid())
    land(store, repo, run_id, {"util.py": NEW})
    assert recover_killed_runs(GitRepo(repo), store, dirty="commit") == []
    assert row(store, run_id).status == "running" and git(repo, "status", "--porcelain") == " M util.py\n"


# -- through the commands ------------------------------------------------------------


def test_dirty_refuse_stops_the_next_run_and_says_why(cli, store: Store, repo: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW})
    cassette = write_cassette(tmp_path / "c.json", [message([text_block("Nothing to do.")])])
    db = str(tmp_path / "once.db")
    refused = cli("run", "--replay", str(cassette), "--db", db, "--dirty", "refuse", "go", cwd=repo)
    assert refused.code != 0
    assert f"killed run {run_id}" in refused.stderr and "--dirty refuse" in refused.stderr
    assert "util.py" in refused.stderr and git(repo, "status", "--porcelain") == " M util.py\n"
    # `agent log` (refusing too, by the setting) lists the run as killed and still says what it left
    monkeypatch.setenv("ONCE_DIRTY", "refuse")
    listed = cli("log", "--db", db, "--json", cwd=repo)
    assert listed.code == 0 and "not committed" in listed.stderr
    assert {r["id"]: r["status"] for r in listed.json()}[run_id] == "killed"
    assert git(repo, "status", "--porcelain") == " M util.py\n"
    monkeypatch.delenv("ONCE_DIRTY")  # a run with the default, --dirty commit, recovers it
    ran = cli("run", "--replay", str(cassette), "--db", db, "-o", "json", "go", cwd=repo)
    assert ran.code == 0, ran.stderr
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "-1", "--format=%s") == f"agent: recover edits of killed run {run_id}\n"
    warnings = [e["message"] for e in store.run_events(ran.json()["run_id"]) if e["type"] == "warning"]
    assert any(run_id in text and "committed now" in text for text in warnings)


def test_agent_log_recovers_and_shows_turns_commits_and_cost(cli, store: Store, repo: Path, tmp_path: Path) -> None:
    run_id = killed_run(store, repo)
    store.record_progress(run_id, turns=3, usage={"input_tokens": 30}, cost_usd=0.0123, commits=2)
    land(store, repo, run_id, {"util.py": NEW}, turn=3)
    listed = cli("log", "--db", str(tmp_path / "once.db"), cwd=repo)
    assert listed.code == 0 and "committed now" in listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if line.startswith(run_id)]
    assert "killed" in line and "3 turns" in line and "3 commits" in line and "$0.0123" in line
    assert git(repo, "status", "--porcelain") == ""


def test_agent_undo_recovers_first_then_undoes_the_recovered_commit(cli, store: Store, repo: Path,
                                                                    tmp_path: Path) -> None:
    run_id = killed_run(store, repo)
    land(store, repo, run_id, {"util.py": NEW})
    head = git(repo, "rev-parse", "HEAD")
    undone = cli("undo", "--db", str(tmp_path / "once.db"), cwd=repo)
    assert undone.code == 0, undone.stderr
    assert "committed now" in undone.stderr and "removed 1 commit" in undone.stdout
    # the killed run's edit was committed, then undone like any agent commit: the tree is as before it
    assert git(repo, "rev-parse", "HEAD") == head and (repo / "util.py").read_bytes() == OLD
    assert git(repo, "status", "--porcelain") == ""
