"""Injection with a holdout: stable arms per session, the floor, both arms logged, k and budget, the run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from once.learn import inject
from once.learn.bank import HOLDOUT_FLOOR, Bank, KnowledgeEntry, holdout_for
from once.learn.embed import HashedNgramEmbedder
from once.learn.inject import BLOCK_HEADING, draw_arm, install_salt, learned_for_turn
from once.store import Store
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message

REPO = "/src/app"
EMBEDDER = HashedNgramEmbedder()
PROMPT = "run the tests, pytest says No module named app"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "once.db") as opened:
        yield opened


def add(bank: Bank, title: str = "pytest cannot import the package", status: str = "probation",
        knowledge: str = "Install the package editable before running pytest.", **kw) -> str:
    return bank.add(KnowledgeEntry(
        title=title, knowledge=knowledge, status=status, repo=REPO,
        description="ModuleNotFoundError: No module named 'app' when running pytest; src layout", **kw))


def turn(store: Store, session: str, run: str = "r-1", **kw) -> inject.Injection:
    return learned_for_turn(store.conn, repo=REPO, session_id=session, run_id=run, prompt=PROMPT,
                            embedder=EMBEDDER, **kw)


def test_empty_bank_injects_nothing(store):
    result = turn(store, "s-1")
    assert result.block == "" and result.exposures == []


def test_arm_is_stable_within_a_session_and_varies_across_sessions(store):
    entry_id = add(Bank(store.conn, embedder=EMBEDDER))
    arms = {}
    for i in range(60):
        first = turn(store, f"s-{i}", run="r-a").exposures[0].arm
        again = turn(store, f"s-{i}", run="r-b").exposures[0].arm
        assert first == again
        arms[f"s-{i}"] = first
    assert set(arms.values()) == {"injected", "holdout"}
    # The salt is per install: stored once, reused.
    assert install_salt(store.conn) == install_salt(store.conn)
    rows = store.conn.execute("SELECT arm, COUNT(*) FROM exposures WHERE entry_id = ? GROUP BY arm",
                              (entry_id,)).fetchall()
    assert {arm: n for arm, n in rows} == {
        "injected": 2 * sum(a == "injected" for a in arms.values()),
        "holdout": 2 * sum(a == "holdout" for a in arms.values())}


def test_a_holdout_change_between_two_turns_does_not_move_a_session_to_the_other_arm(store):
    bank = Bank(store.conn, embedder=EMBEDDER)
    entry_id = add(bank, holdout=0.2)
    before = {f"s-{i}": turn(store, f"s-{i}", run="r-a").exposures[0] for i in range(80)}
    store.conn.execute("UPDATE knowledge SET holdout = 0.5 WHERE id = ?", (entry_id,))  # `agent learn` doubted it
    after = {session: turn(store, session, run="r-b").exposures[0] for session in before}
    assert all(after[s].arm == before[s].arm and after[s].holdout == before[s].holdout == 0.2 for s in before)
    # A new session draws with the new rate: some that would have been injected at 0.2 are held out now.
    salt = install_salt(store.conn)
    fresh = [f"n-{i}" for i in range(400)]
    assert sum(turn(store, s).exposures[0].arm == "holdout" for s in fresh) == sum(
        draw_arm(salt, entry_id, s, 0.5) == "holdout" for s in fresh)
    assert any(draw_arm(salt, entry_id, s, 0.2) != draw_arm(salt, entry_id, s, 0.5) for s in before)


def test_holdout_floor_and_rates():
    assert holdout_for("active", 0.0) == HOLDOUT_FLOOR == 0.10
    assert holdout_for("probation") == 0.20 and holdout_for("active") == 0.10
    n = 20_000
    held = sum(draw_arm("salt", "k-1", f"s-{i}", holdout_for("active", 0.0)) == "holdout" for i in range(n))
    assert abs(held / n - 0.10) < 0.01  # 10 standard errors would be 0.021
    held = sum(draw_arm("salt", "k-1", f"s-{i}", 0.2) == "holdout" for i in range(n))
    assert abs(held / n - 0.20) < 0.015


def test_block_holds_only_injected_entries_and_events_carry_both(store, monkeypatch):
    bank = Bank(store.conn, embedder=EMBEDDER)
    held, shown = add(bank, title="pytest import one"), add(bank, title="pytest import two",
                                                             knowledge="Set pythonpath in pyproject.")
    monkeypatch.setattr(inject, "draw_unit", lambda salt, entry_id, session: 0.0 if entry_id == held else 0.99)
    result = turn(store, "s-1")
    assert {(e.entry_id, e.arm) for e in result.exposures} == {(held, "holdout"), (shown, "injected")}
    assert result.block.startswith(BLOCK_HEADING)
    assert "Set pythonpath in pyproject." in result.block and "pytest import one" not in result.block


def test_k_and_budget_are_respected(store):
    bank = Bank(store.conn, embedder=EMBEDDER)
    for i in range(6):
        add(bank, title=f"pytest import {i}", knowledge=f"Lesson {i}: " + "x" * 300)
    assert len(turn(store, "s-1", k=2).exposures) == 2
    result = turn(store, "s-2", k=5, budget_chars=800)
    assert 1 <= len(result.exposures) < 5
    assert len(inject.render_block([bank.get(e.entry_id) for e in result.exposures])) <= 800
    assert turn(store, "s-3", budget_chars=50).exposures == []


def test_only_live_entries_are_retrieved(store):
    bank = Bank(store.conn, embedder=EMBEDDER)
    for status in ("candidate", "pruned"):
        add(bank, status=status)
    assert turn(store, "s-1").exposures == []
    live = add(bank, status="active")
    assert [e.entry_id for e in turn(store, "s-2").exposures] == [live]


def test_a_demoted_entry_is_still_measured_after_live_ones(store):
    # Demoted means "no clear benefit yet": still retrieved (so it can come back), ranked last.
    bank = Bank(store.conn, embedder=EMBEDDER)
    demoted = add(bank, status="demoted", holdout=0.5, weight=0.2)
    live = add(bank, status="active", weight=0.9)
    exposures = turn(store, "s-1").exposures
    assert [e.entry_id for e in exposures] == [live, demoted]
    assert exposures[1].status == "demoted" and exposures[1].holdout == 0.5


def test_an_empty_bank_does_not_import_numpy(tmp_path):
    code = (
        "import sys\n"
        "from once.store import Store\n"
        "from once.learn.inject import learned_for_turn\n"
        f"s = Store({str(tmp_path / 'x.db')!r})\n"
        "r = learned_for_turn(s.conn, repo='/r', session_id='s', run_id='r', prompt='hello')\n"
        "s.close()\n"
        "print(r.block == '' and 'numpy' not in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def _first_user_text(db, session_id: str) -> str:
    with Store(db) as store:
        first = store.session_messages(session_id)[0]
    return "\n".join(block.get("text", "") for block in first["content"])


@pytest.mark.parametrize("unit,arm", [(0.99, "injected"), (0.0, "holdout")])
def test_the_block_reaches_the_models_first_request(cli, repo, tmp_path, monkeypatch, unit, arm):
    db = tmp_path / "once.db"
    cassette = write_cassette(tmp_path / "c.json", [message("done")])
    with Store(db) as store:
        entry_id = Bank(store.conn).add(KnowledgeEntry(
            title="pytest cannot import the package", status="active", repo=str(repo.resolve()),
            description="ModuleNotFoundError: No module named 'app' when running pytest",
            knowledge="Install the package editable (pip install -e .) first."))
    monkeypatch.setattr(inject, "draw_unit", lambda salt, entry, session: unit)
    result = cli("run", "--replay", str(cassette), "--db", str(db), "-o", "stream-json",
                 "pytest fails with No module named app", cwd=repo)
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    exposures = [e for e in events if e["type"] == "knowledge"]
    assert [(e["entry_id"], e["arm"], e["status"]) for e in exposures] == [(entry_id, arm, "active")]
    session_id = events[0]["session_id"]
    text = _first_user_text(db, session_id)
    assert ("pip install -e ." in text) == (arm == "injected")
    assert text.rstrip().endswith("pytest fails with No module named app")  # the prompt stays last
    with Store(db) as store:
        stored = store.conn.execute("SELECT arm, session_id FROM exposures").fetchall()
        logged = [e["type"] for e in store.run_events(events[0]["run_id"])]
    assert [tuple(row) for row in stored] == [(arm, session_id)] and "knowledge" in logged


def test_similarity_is_rescaled_from_the_embedders_unrelated_floor():
    from once.learn.retrieve import combine, semantic_floor

    assert semantic_floor("hashed-ngram-512") == 0.0
    assert semantic_floor("minilm-l6-int8") == 0.3
    # MiniLM's 0.36 between unrelated prompts counts for little; the hashed embedder's scale is unchanged.
    assert combine(0.36, 0.0, semantic_floor("minilm-l6-int8")) < 0.05
    assert combine(0.36, 0.0, semantic_floor("hashed-ngram-512")) == 0.18
    assert combine(1.0, 1.0, 0.3) == 1.0


@pytest.mark.parametrize("arm", ["injected", "holdout"])
def test_a_forced_arm_applies_to_every_entry_and_stays_out_of_the_evaluation(store, arm):
    bank = Bank(store.conn, embedder=EMBEDDER)
    add(bank, title="pytest import one")
    add(bank, title="pytest import two", knowledge="Set pythonpath in pyproject.")
    results = [turn(store, f"s-{i}", force_arm=arm) for i in range(20)]
    assert {e.arm for r in results for e in r.exposures} == {arm}
    assert all(bool(r.block) == (arm == "injected") for r in results)
    assert store.conn.execute("SELECT COUNT(*) FROM exposures").fetchone()[0] == 0

