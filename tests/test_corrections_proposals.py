"""Proposals: idempotent scans, one row under concurrent inserts, approve/reject, anti-lessons."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from once.corrections import actions, repository
from once.corrections.proposals import draft
from once.corrections.signals import Correction, correction_ref
from once.errors import UsageError
from once.events import CorrectionNote, Feedback, PlanDecision
from once.learn.bank import Bank
from once.skills.discovery import discover_skills
from once.store.store import Store
from tests.corrections_fixtures import add_run, open_test_store

STEPS = "To cut a release:\n1. bump the version in pyproject.toml\n2. run the full test suite\n3. tag and push the tag"


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_scan_twice_proposes_nothing_new(tmp_path, root):
    repo = str(root)
    with open_test_store(tmp_path) as store:
        add_run(store, repo, events=[CorrectionNote(run_id="", text="Run ruff before every commit"),
                                     PlanDecision(run_id="", decision="rejected", reason="do not touch the migrations")])
        first = actions.scan(store.conn, repo)
        second = actions.scan(store.conn, repo)
        assert len(first.proposed) == 2 and second.proposed == [] and second.already_seen == 2
        assert len(repository.list_proposals(store.conn, repo)) == 2
        other = actions.scan(store.conn, str(tmp_path / "elsewhere"))
        assert other.corrections == 0  # corrections belong to their repository


def _skill_proposal(repo: str, ref_ts: float, proposal_id: str):
    correction = Correction(kind="note", ref=correction_ref("note", "r-1", ref_ts, STEPS), ts=ref_ts,
                            run_id="r-1", session_id="s-1", text=STEPS)
    return draft(correction, repo=repo, proposal_id=proposal_id, now=ref_ts)


def test_concurrent_double_insert_leaves_one_row(tmp_path, root):
    with open_test_store(tmp_path):
        pass  # migrate once
    proposal = _skill_proposal(str(root), 1.0, "p-same")
    copies = [replace(proposal, id=f"p-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def insert(p):
        with Store(tmp_path / "once.db") as store:
            barrier.wait(timeout=5)
            results.append(repository.insert_proposal(store.conn, p))

    threads = [threading.Thread(target=insert, args=(p,)) for p in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    with open_test_store(tmp_path) as store:
        rows = repository.list_proposals(store.conn, str(root))
    assert sorted(results) == [False, True] and len(rows) == 1


def test_one_pending_proposal_per_target(tmp_path, root):
    with open_test_store(tmp_path) as store:
        first = _skill_proposal(str(root), 1.0, "p-a")
        second = _skill_proposal(str(root), 2.0, "p-b")  # another correction, same skill
        assert first.signal_ref != second.signal_ref and first.target_key == second.target_key
        assert repository.insert_proposal(store.conn, first)
        assert not repository.insert_proposal(store.conn, second)


def test_approve_writes_a_valid_skill(tmp_path, root, isolated_env):
    repo = str(root)
    with open_test_store(tmp_path) as store:
        add_run(store, repo, events=[CorrectionNote(run_id="", text=STEPS)])
        [pid] = actions.scan(store.conn, repo).proposed
        pending = repository.get_proposal(store.conn, pid)
        assert pending.status == "pending" and not (root / ".once" / "skills").exists()
        approved = actions.approve(store.conn, root, pid[:len(pid)], note="yes")
        assert approved.status == "approved" and approved.note == "yes"
        with pytest.raises(UsageError):
            actions.approve(store.conn, root, pid)
    skills, warnings = discover_skills(root, isolated_env / ".config" / "once")
    learned = [s for s in skills if s.source == "project"]
    assert warnings == [] and [s.name for s in learned] == [pending.location]
    assert "3. tag and push the tag" in learned[0].body()


def test_rejected_skill_is_an_anti_lesson(tmp_path, root):
    repo = str(root)
    with open_test_store(tmp_path) as store:
        add_run(store, repo, events=[CorrectionNote(run_id="", text=STEPS)])
        [pid] = actions.scan(store.conn, repo).proposed
        rejected = actions.reject(store.conn, root, pid, note="we release from CI")
        assert rejected.status == "rejected" and rejected.note == "we release from CI"
        [lesson] = repository.anti_lessons(store.conn, repo)
        assert lesson["proposal_id"] == pid and lesson["reason"] == "we release from CI"
        add_run(store, repo, events=[CorrectionNote(run_id="", text=STEPS + ".")])  # said again, another day
        again = actions.scan(store.conn, repo)
        assert again.proposed == [] and len(again.skipped["anti-lesson"]) == 1
    assert not (root / ".once" / "skills").exists()


def test_knowledge_proposal_becomes_a_probation_entry_and_reject_prunes_it(tmp_path, root):
    repo = str(root)
    with open_test_store(tmp_path) as store:
        add_run(store, repo, events=[Feedback(run_id="", rating="down", comment="wrong: the tests live in tests/unit")])
        report = actions.scan(store.conn, repo)
        proposal = repository.get_proposal(store.conn, report.applied[0])
        assert proposal.target == "knowledge" and proposal.status == "applied"
        entry = Bank(store.conn).get(proposal.result)
        assert entry.status == "probation" and entry.repo == repo and "tests/unit" in entry.knowledge
        actions.reject(store.conn, root, proposal.id)
        assert Bank(store.conn).get(proposal.result).status == "pruned"
        assert repository.get_proposal(store.conn, proposal.id).status == "rejected"


def test_secrets_in_corrections_are_not_stored(tmp_path, root):
    repo = str(root)
    key = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8I9j0" * 4
    with open_test_store(tmp_path) as store:
        add_run(store, repo, events=[CorrectionNote(run_id="", text=f"use the staging key {key} for tests")])
        actions.scan(store.conn, repo)
        dump = "\n".join(store.conn.iterdump())
    assert key not in dump and key not in (root / ".once" / "memory.md").read_text()
