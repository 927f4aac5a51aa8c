"""`agent learn` runs the corrections loop too: the scan (dry run writes nothing), memory
conflicts in the report, and skill-ready entries proposed as skills once."""

from __future__ import annotations

import random
import time
import sqlite3
from pathlib import Path

from once.events import CorrectionNote
from once.store.store import Store
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message
from tests.test_cli_learn import T0, _record

GOOD = "Run the parser tests with the fixtures regenerated: call make fixtures before pytest."


def _run(cli, repo: Path, db: Path, tmp_path: Path) -> str:
    cassette = write_cassette(tmp_path / "c.json", [message("Done.")])
    result = cli("run", "--replay", str(cassette), "--db", str(db), "-o", "json", "go", cwd=repo)
    assert result.code == 0, result.stderr
    return result.json()["run_id"]


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_learn_scans_corrections_and_lists_memory_conflicts(cli, repo: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    run_id = _run(cli, repo, db, tmp_path)
    with Store(db) as store:
        store.append_event(CorrectionNote(run_id=run_id, text="Always use tabs for indentation"))
        store.append_event(CorrectionNote(run_id=run_id, text="Never use tabs for indentation"))
    before = _dump(db)
    dry = cli("learn", "--db", str(db), "--dry-run", "--json", cwd=repo)
    assert dry.code == 0, dry.stderr
    preview = dry.json()
    assert preview["corrections"]["corrections"] == 2 and preview["corrections"]["proposed"] >= 1
    assert preview["proposals_made"] == preview["corrections"]["proposed"]
    assert _dump(db) == before and not (repo / ".once" / "memory.md").exists()

    report = cli("learn", "--db", str(db), "--json", cwd=repo).json()
    assert report["corrections"]["proposed"] == 2 and report["proposals_made"] == 2
    memory = (repo / ".once" / "memory.md").read_text()
    assert "Never use tabs" in memory and "Always use tabs" not in memory
    [conflict] = [c for c in report["conflicts"] if c.startswith("memory")]
    assert "Never use tabs for indentation" in conflict and "Always use tabs for indentation" in conflict
    text = cli("learn", "--db", str(db), "--since", "2000-01-01", cwd=repo)
    assert text.code == 0 and "Corrections: 2" in text.stdout and "conflict" in text.stdout
    again = cli("learn", "--db", str(db), "--json", cwd=repo).json()
    assert again["proposals_made"] == 0 and again["corrections"]["proposed"] == 0
    assert not [c for c in again["conflicts"] if c.startswith("memory")]  # reported once


def _proven_entry(db: Path, repo: Path, entry_id: str = "k-good", sessions: int = 200,
                  rates: tuple[float, float] = (0.9, 0.3)) -> None:
    """An active entry with `sessions` sessions where injecting it helped (success `rates`:
    injected, held out; by default clearly)."""
    from once.learn.bank import Bank, KnowledgeEntry

    rng = random.Random(3)
    with Store(db) as store:
        Bank(store.conn, clock=lambda: T0).add(KnowledgeEntry(
            id=entry_id, title="parser fixtures are stale", description="test_parse fails after a grammar change",
            knowledge=GOOD, scope="project", repo=str(repo), status="active", model="m1", tool_version="",
            holdout=0.5, weight=1.0, last_retrieved_at=time.time()))
        rows = []
        for i in range(sessions):
            arm = "holdout" if rng.random() < 0.5 else "injected"
            ok = rng.random() < (rates[0] if arm == "injected" else rates[1])
            sid, runs = _record(store, str(repo), [(f"task {i}", [("pass" if ok else "fail", "E")])], T0 + i * 1000)
            rows.append((entry_id, sid, runs[0], arm, 0.5, T0 + i * 1000 + 1, 0.5))
        with store.conn:
            store.conn.executemany("INSERT INTO exposures (entry_id, session_id, run_id, arm, score, ts, holdout)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def test_a_skill_ready_entry_becomes_one_skill_proposal(cli, repo: Path, tmp_path: Path) -> None:
    from once.skills.discovery import load_skill

    db = tmp_path / "db"
    root = repo.resolve()
    _proven_entry(db, root)
    before = _dump(db)
    dry = cli("learn", "--db", str(db), "--json", "--model", "m1", "--dry-run", cwd=repo).json()
    assert [(p["entry_id"], p["status"]) for p in dry["skill_proposals"]] == [("k-good", "pending")]
    assert _dump(db) == before
    report = cli("learn", "--db", str(db), "--json", "--model", "m1", cwd=repo).json()
    assert [line["entry_id"] for line in report["skill_ready"]] == ["k-good"]
    [line] = report["skill_proposals"]
    assert line["status"] == "pending" and report["proposals_made"] == 1
    pending = cli("proposals", "list", "--status", "pending", "--json", "--db", str(db), cwd=repo).json()
    assert [(p["target"], p["signal_ref"]) for p in pending] == [("skill", "knowledge:k-good")]
    assert "e-value" in pending[0]["rationale"]
    # Twice: nothing new.
    again = cli("learn", "--db", str(db), "--json", "--model", "m1", cwd=repo).json()
    assert again["skill_proposals"] == [] and again["proposals_made"] == 0
    assert len(cli("proposals", "list", "--json", "--db", str(db), cwd=repo).json()) == 1
    approved = cli("proposals", "approve", pending[0]["id"], "--db", str(db), cwd=repo)
    assert approved.code == 0, approved.stderr
    path = root / ".once" / "skills" / pending[0]["location"] / "SKILL.md"
    skill = load_skill(path, "project")
    assert skill.name == pending[0]["location"] and "make fixtures" in path.read_text()


def test_a_skill_is_proposed_by_e_bh_across_the_whole_bank_not_the_active_entries_alone(
        cli, repo: Path, tmp_path: Path) -> None:
    """Active entries are selected by their own evidence: e-BH over them alone would ask an entry
    that is the only active one for an e-value of 20. The bank's other entries are hypotheses too."""
    from once.learn.bank import Bank, KnowledgeEntry
    from once.learn.pipe_evaluate import entry_figures

    def bank_of(name: str, others: int) -> Path:
        db = tmp_path / name
        _proven_entry(db, repo.resolve(), sessions=80, rates=(0.75, 0.35))
        with Store(db) as store:
            bank = Bank(store.conn, clock=lambda: T0)
            for i in range(others):
                bank.add(KnowledgeEntry(title=f"other lesson {i}", description=f"another problem {i}",
                                        knowledge=f"do thing {i} first", scope="project", repo=str(repo.resolve()),
                                        status="probation", model="m1", last_retrieved_at=time.time()))
        return db

    alone, crowded = bank_of("alone.db", 0), bank_of("crowded.db", 40)
    assert [line["entry_id"] for line in cli("learn", "--db", str(alone), "--json", "--model", "m1",
                                             cwd=repo).json()["skill_ready"]] == ["k-good"]
    assert cli("learn", "--db", str(crowded), "--json", "--model", "m1", cwd=repo).json()["skill_ready"] == []
    with Store(crowded) as store:  # the outcomes are known now
        e_help = entry_figures(store.conn, "k-good")["here"].e_help  # type: ignore[union-attr]
    assert 20 <= e_help < 41 / 0.05, e_help  # past a family of one, short of a family of 41


def test_a_rejected_skill_is_not_proposed_again(cli, repo: Path, tmp_path: Path) -> None:
    from once.corrections.actions import propose_skill
    from once.learn.bank import Bank

    db = tmp_path / "db"
    root = repo.resolve()
    _proven_entry(db, root)
    cli("learn", "--db", str(db), "--json", "--model", "m1", cwd=repo)
    [pending] = cli("proposals", "list", "--json", "--db", str(db), cwd=repo).json()
    assert cli("proposals", "reject", pending["id"], "--note", "not a skill", "--db", str(db), cwd=repo).code == 0
    again = cli("learn", "--db", str(db), "--json", "--model", "m1", "--since", "2000-01-01", cwd=repo).json()
    assert again["proposals_made"] == 0
    with Store(db) as store:
        # The same lesson from another entry: the anti-lesson blocks it.
        twin = Bank(store.conn).get("k-good")
        twin.id = "k-twin"
        assert propose_skill(store.conn, str(root), twin, evidence="lift +60%") == (None, "anti-lesson")
        assert store.conn.execute("SELECT COUNT(*) FROM proposals").fetchone()[0] == 1
