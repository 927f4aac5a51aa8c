"""`agent proposals scan|list|show|approve|reject` and `agent undo --reason` as a correction."""

from __future__ import annotations

import json
import sqlite3

from once.events import CorrectionNote
from once.store.store import Store
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, text_block, tool_use_block

STEPS = "To cut a release:\n1. bump the version in pyproject.toml\n2. run the full test suite\n3. tag and push"


def edit_run(cli, repo, tmp_path) -> dict:
    edit = tool_use_block("t1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"})
    cassette = write_cassette(tmp_path / "c.json", [message([text_block("Change it."), edit]), message("Done.")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", "go", cwd=repo)
    assert result.code == 0, result.stderr
    return result.json()


def add_note(tmp_path, run_id: str, text: str) -> None:
    with Store(tmp_path / "db") as store:
        store.append_event(CorrectionNote(run_id=run_id, text=text))


def test_undo_reason_is_stored_and_becomes_memory(cli, repo, tmp_path):
    run = edit_run(cli, repo, tmp_path)
    db = str(tmp_path / "db")
    undone = cli("undo", "--reason", "never change util.py return values", "--db", db, cwd=repo)
    assert undone.code == 0, undone.stderr
    conn = sqlite3.connect(db)
    [data] = [json.loads(r[0]) for r in conn.execute("SELECT data FROM events WHERE type = 'undo'")]
    conn.close()
    assert data["reason"] == "never change util.py return values" and data["run_id"] == run["run_id"]
    scanned = cli("proposals", "scan", "--json", "--db", db, cwd=repo).json()
    [proposal] = scanned["proposals"]
    assert (proposal["target"], proposal["status"], proposal["signal_kind"]) == ("memory", "applied", "undo_reason")
    assert "never change util.py return values" in (repo / ".once" / "memory.md").read_text()
    again = cli("proposals", "scan", "--json", "--db", db, cwd=repo).json()
    assert again["proposed"] == [] and again["already_seen"] == 1


def test_an_approval_note_is_stored_redacted(cli, repo, tmp_path):
    token = "ghp_" + "Zq8vR2mN4tY7wB1xK9pL3sD6fG0hJ5cVbN8m"
    run = edit_run(cli, repo, tmp_path)
    db = str(tmp_path / "db")
    add_note(tmp_path, run["run_id"], STEPS)
    cli("proposals", "scan", "--db", db, cwd=repo)
    [pending] = cli("proposals", "list", "--status", "pending", "--json", "--db", db, cwd=repo).json()
    approved = cli("proposals", "approve", pending["id"], "--note", f"ok, it uses {token}", "--db", db, cwd=repo)
    assert approved.code == 0, approved.stderr
    import sqlite3

    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert token not in dump and "[REDACTED:" in dump


def test_skill_proposal_round_trip(cli, repo, tmp_path):
    run = edit_run(cli, repo, tmp_path)
    db = str(tmp_path / "db")
    add_note(tmp_path, run["run_id"], STEPS)
    scan = cli("proposals", "scan", "--db", db, cwd=repo)
    assert scan.code == 0 and "1 new proposal" in scan.stdout and "approve ID" in scan.stdout
    [pending] = cli("proposals", "list", "--status", "pending", "--json", "--db", db, cwd=repo).json()
    shown = cli("proposals", "show", pending["id"], "--db", db, cwd=repo)
    assert "why:" in shown.stdout and "outcome:" in shown.stdout and f".once/skills/{pending['location']}" in shown.stdout
    approved = cli("proposals", "approve", pending["id"], "--note", "good", "--db", db, cwd=repo)
    assert approved.code == 0, approved.stderr
    skill = repo / ".once" / "skills" / pending["location"] / "SKILL.md"
    assert skill.exists() and "tag and push" in skill.read_text()
    listed = cli("skills", "list", "--json", cwd=repo).json()
    assert pending["location"] in [s["name"] for s in listed]
    twice = cli("proposals", "approve", pending["id"], "--db", db, cwd=repo)
    assert twice.code == 2 and "not pending" in twice.stderr


def test_reject_makes_an_anti_lesson(cli, repo, tmp_path):
    run = edit_run(cli, repo, tmp_path)
    db = str(tmp_path / "db")
    add_note(tmp_path, run["run_id"], STEPS)
    [pid] = cli("proposals", "scan", "--json", "--db", db, cwd=repo).json()["proposed"]
    rejected = cli("proposals", "reject", pid, "-m", "CI releases", "--db", db, cwd=repo)
    assert rejected.code == 0 and "not be proposed again" in rejected.stdout
    add_note(tmp_path, run["run_id"], STEPS)  # the same correction, again
    again = cli("proposals", "scan", "--json", "--db", db, cwd=repo).json()
    assert again["proposed"] == [] and len(again["skipped"]["anti-lesson"]) == 1
    assert [p["status"] for p in cli("proposals", "list", "--json", "--db", db, cwd=repo).json()] == ["rejected"]


def test_proposal_errors_and_help(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    missing = cli("proposals", "show", "p-nothing", "--db", db, cwd=repo)
    assert missing.code == 2 and "no proposal" in missing.stderr
    bad = cli("proposals", "list", "--status", "maybe", "--db", db, cwd=repo)
    assert bad.code == 2 and "pending" in bad.stderr
    empty = cli("proposals", "list", "--db", db, cwd=repo)
    assert empty.code == 0 and "no proposals" in empty.stdout
    for group in ("proposals", "memory", "feedback"):
        assert len(cli(group, "--help").stdout) > 300, group
    assert "--reason" in cli("undo", "--help").stdout
