"""`agent learn` over a real store: episodes become entries once, dry runs write nothing,
exposures are evaluated, harmful entries pruned, a new version of once sends entries to probation."""

from __future__ import annotations

import random
import time
import sqlite3
from pathlib import Path

import pytest

from once.events import CommitMade, RunFinished, RunStarted, TestResult
from once.store.store import RunRecord, Store

T0 = 1_700_000_000.0  # long enough ago that every session counts as ended

STUCK_TURNS = [
    ("fix the failing test_parse in the parser tests", [("fail", "AssertionError: expected 3 got 2")]),
    ("it's still failing with the same error, that didn't work", [("fail", "AssertionError: expected 3 got 2")]),
    ("no, the off-by-one is in the slice end: use len(items), not len(items) - 1", [("commit", "abc123"), ("pass", "")]),
    ("thanks, that works now", []),
]


def _record(store: Store, repo: str, turns: list[tuple[str, list[tuple[str, str]]]], t0: float,
            model: str = "m1") -> tuple[str, list[str]]:
    """A session of runs, one per (prompt, steps); steps are ("fail"|"pass", signature) or ("commit", sha)."""
    session_id = store.create_session(repo)
    run_ids, t = [], t0
    for i, (prompt, steps) in enumerate(turns):
        run_id = f"r{i}-{session_id}"
        run_ids.append(run_id)
        store.start_run(RunRecord(id=run_id, session_id=session_id, repo=repo, prompt=prompt, mode="agent",
                                  provider="replay", model=model, started_at=t))
        store.append_event(RunStarted(run_id=run_id, ts=t, session_id=session_id, repo=repo, prompt=prompt,
                                      mode="agent", provider="replay", model=model))
        for kind, value in steps:
            t += 5
            if kind == "commit":
                store.append_event(CommitMade(run_id=run_id, ts=t, turn=1, sha=value, subject="agent: fix",
                                              files=["parser.py"]))
            else:
                store.append_event(TestResult(run_id=run_id, ts=t, turn=1, check="pytest", command="pytest -q",
                                              passed=kind == "pass", passed_count=3, failed_count=int(kind == "fail"),
                                              duration_ms=10, signature=value, summary=""))
        t += 5
        store.append_event(RunFinished(run_id=run_id, ts=t, status="done", result="ok", turns=1, usage={},
                                       cost_usd=0.0))
        store.finish_run(run_id, status="done", turns=1, usage={}, cost_usd=0.0, result="ok")
        t += 60
    with store.conn:  # the session's clock is the recorded one, not the test's
        store.conn.execute("UPDATE sessions SET created_at = ?, updated_at = ? WHERE id = ?", (t0, t, session_id))
    return session_id, run_ids


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "once.db"


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_resolved_episode_becomes_one_entry_once(cli, db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
    first = cli("learn", "--db", str(db), "--json")
    assert first.code == 0, first.stderr
    report = first.json()
    assert report["episodes"] == 1 and report["new_episodes"] == 1 and report["resolved"] == 1
    assert [a["status"] for a in report["added"]] == ["probation"]
    with Store(db) as store:
        rows = store.conn.execute("SELECT id, status, title, model FROM knowledge").fetchall()
        episode = store.conn.execute("SELECT status, entry_id FROM episodes").fetchone()
    assert len(rows) == 1 and rows[0]["status"] == "probation" and rows[0]["model"] == "m1"
    assert "expected 3 got 2" in rows[0]["title"]
    assert tuple(episode) == ("resolved", rows[0]["id"])
    # Again, rescanning everything: nothing new.
    second = cli("learn", "--db", str(db), "--json", "--since", "2000-01-01")
    assert second.code == 0, second.stderr
    again = second.json()
    assert again["sessions"] == 1 and again["added"] == [] and again["merged"] == [] and again["new_episodes"] == 0
    with Store(db) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM knowledge").fetchone()[0] == 1
        assert store.conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0] == 1


def test_dry_run_writes_nothing(cli, db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
    before = _dump(db)
    result = cli("learn", "--db", str(db), "--dry-run", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["dry_run"] is True and len(report["added"]) == 1  # says what it would add
    assert _dump(db) == before
    text = cli("learn", "--db", str(db), "--dry-run")
    assert text.code == 0 and "dry run" in text.stdout and "added: 1" in text.stdout
    assert _dump(db) == before


def _entry(store: Store, entry_id: str, title: str, model: str = "m1", created: float = T0) -> None:
    from once.learn.bank import Bank, KnowledgeEntry

    Bank(store.conn, clock=lambda: created).add(KnowledgeEntry(
        id=entry_id, title=title, description=f"{title} symptoms", knowledge=f"{title} advice", scope="global",
        status="probation", model=model, tool_version="", holdout=0.5, weight=1.0))


def test_exposures_are_evaluated_and_a_harmful_entry_is_pruned(cli, db: Path, tmp_path: Path) -> None:
    rng = random.Random(11)
    with Store(db) as store:
        _entry(store, "k-harm", "harmful advice")
        _entry(store, "k-good", "good advice")
        rows = []
        for i in range(160):
            for entry_id, p_injected, p_holdout in (("k-harm", 0.2, 0.8), ("k-good", 0.85, 0.35)):
                arm = "holdout" if rng.random() < 0.5 else "injected"
                ok = rng.random() < (p_injected if arm == "injected" else p_holdout)
                sid, runs = _record(store, str(tmp_path), [(f"task {i}", [("pass" if ok else "fail", "E")])],
                                    T0 + i * 1000)
                rows.append((entry_id, sid, runs[0], arm, 0.5, T0 + i * 1000 + 1, 0.5))
        with store.conn:
            store.conn.executemany("INSERT INTO exposures (entry_id, session_id, run_id, arm, score, ts, holdout)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    result = cli("learn", "--db", str(db), "--json", "--model", "m1")
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["outcomes"] == 320
    moves = {m["entry_id"]: m for m in report["moves"]}
    assert moves["k-harm"]["to_status"] == "pruned" and "e-value" in moves["k-harm"]["reason"]
    assert moves["k-good"]["to_status"] == "active"
    lifts = {l["entry_id"]: l for l in report["lifts"]}
    assert lifts["k-harm"]["lift_hi"] < 0 < lifts["k-good"]["lift_lo"]
    with Store(db) as store:
        status = dict(store.conn.execute("SELECT id, status FROM knowledge").fetchall())
        known = store.conn.execute("SELECT COUNT(*) FROM exposures WHERE outcome IS NOT NULL").fetchone()[0]
        log = store.conn.execute("SELECT action FROM knowledge_log WHERE entry_id = 'k-harm' ORDER BY id").fetchall()
    assert status == {"k-harm": "pruned", "k-good": "active"} and known == 320
    assert [row[0] for row in log] == ["created", "prune"]
    text = cli("learn", "--db", str(db), "--since", "2000-01-01")
    assert text.code == 0 and "Measured lift" in text.stdout and "stuck" in text.stdout


def test_alternating_models_send_nothing_back_a_new_version_of_once_does(cli, db: Path) -> None:
    with Store(db) as store:
        _entry(store, "k-old", "learned under m1", created=time.time() - 60)
        with store.conn:
            store.conn.execute("UPDATE knowledge SET status = 'active', holdout = 0.1 WHERE id = 'k-old'")
    for model in ("m2", "m1", "m2"):  # each model keeps its own evidence: no thrashing
        result = cli("learn", "--db", str(db), "--json", "--model", model)
        assert result.code == 0 and result.json()["moves"] == [], result.stderr
    with Store(db) as store, store.conn:
        assert store.conn.execute("SELECT status FROM knowledge WHERE id = 'k-old'").fetchone()[0] == "active"
        store.conn.execute("UPDATE knowledge SET tool_version = '0.0.1' WHERE id = 'k-old'")
    assert [m["action"] for m in cli("learn", "--db", str(db), "--json").json()["moves"]] == ["version_change"]
    with Store(db) as store:
        row = store.conn.execute("SELECT status, holdout, model FROM knowledge WHERE id = 'k-old'").fetchone()
    assert tuple(row) == ("probation", 0.5, "m1")
    assert cli("learn", "--db", str(db), "--json", "--model", "m2").json()["moves"] == []
    # Not retrieved for longer than learn.decay_days: demoted.
    with Store(db) as store, store.conn:
        store.conn.execute("UPDATE knowledge SET last_retrieved_at = ? WHERE id = 'k-old'", (time.time() - 90 * 86_400,))
    moves = cli("learn", "--db", str(db), "--json", "--model", "m2").json()["moves"]
    assert [(m["action"], m["to_status"]) for m in moves] == [("decay", "demoted")]


def test_bad_options_are_usage_errors(cli, db: Path) -> None:
    result = cli("learn", "--db", str(db), "--since", "last tuesday")
    assert result.code == 2 and "--since" in result.stderr and "Traceback" not in result.stderr
    assert cli("learn", "--db", str(db), "-o", "yaml").code == 2


def test_parse_since() -> None:
    from once.cli.learn_cmd import parse_since

    assert parse_since("7d", 1_000_000.0) == 1_000_000.0 - 7 * 86_400
    assert parse_since("2w", 2_000_000.0) == 2_000_000.0 - 14 * 86_400
    assert parse_since(None, 0.0) is None
    assert parse_since("2024-05-01T00:00:00+00:00", 0.0) == 1_714_521_600.0


def test_the_same_lesson_merges_and_different_advice_is_a_conflict(cli, db: Path, tmp_path: Path) -> None:
    other_fix = [*STUCK_TURNS[:2], ("no, pin the parser library to version two and regenerate the lockfile",
                                    [("commit", "fff999"), ("pass", "")]), STUCK_TURNS[3]]
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
        _record(store, str(tmp_path), STUCK_TURNS, T0 + 10_000)
        _record(store, str(tmp_path), other_fix, T0 + 20_000)
    report = cli("learn", "--db", str(db), "--json").json()
    assert report["episodes"] == 3
    assert len(report["merged"]) == 1  # the repeat joins the first entry; the other fix is kept apart
    assert len(report["added"]) + len(report["not_admitted"]) == 2
    with Store(db) as store:
        rows = store.conn.execute("SELECT merged_count, knowledge FROM knowledge ORDER BY created_at, rowid").fetchall()
    assert [row[0] for row in rows] == [2, 1]
    assert "len(items)" in rows[0][1] and "lockfile" in rows[1][1]


def test_advice_overlap_tells_a_repeat_from_a_different_fix() -> None:
    from once.learn.bank import KnowledgeEntry
    from once.learn.pipe_extract import CONFLICT_SIMILARITY, advice_overlap

    def entry(fix: str) -> KnowledgeEntry:
        return KnowledgeEntry(title="KeyError: 'customer_id'", description="pandas merge",
                              knowledge=f"When you see `KeyError: 'customer_id'`: still failing\nno, {fix}")

    old = entry("rename the column to customer_id before merging").knowledge
    assert advice_overlap(entry("rename the column to customer_id before merging"), old) == 1.0
    assert advice_overlap(entry("upgrade the plugin and use the new registry api"), old) < CONFLICT_SIMILARITY


def test_learn_settings_come_from_config(cli, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(db) as store:
        _entry(store, "k-idle", "idle entry", created=time.time() - 20 * 86_400)
    assert cli("learn", "--db", str(db), "--json", "--model", "m1", "--dry-run").json()["moves"] == []
    monkeypatch.setenv("ONCE_LEARN_DECAY_DAYS", "10")
    moves = cli("learn", "--db", str(db), "--json", "--model", "m1", "--dry-run").json()["moves"]
    assert [(m["action"], m["to_status"]) for m in moves] == [("decay", "demoted")]
    monkeypatch.setenv("ONCE_LEARN_ALPHA", "2")
    bad = cli("learn", "--db", str(db))
    assert bad.code == 2 and "learn.alpha" in bad.stderr


def test_a_small_model_judges_the_episode_and_writes_the_entry(cli, db: Path, tmp_path: Path) -> None:
    import json

    from tests.conftest import write_cassette
    from tests.fakes.anthropic_server import message

    lesson = {"title": "Off-by-one in slice ends", "scope": "global",
              "description": "A parser test fails with AssertionError expected 3 got 2 after slicing a list.",
              "knowledge": "Slice ends are exclusive: use items[:len(items)], not len(items) - 1."}
    cassette = write_cassette(tmp_path / "small.json", [
        message("yes: the same failure came back and the user complained"),
        message("yes: the checks pass and the user thanked the agent"),
        message("Here it is:\n" + json.dumps(lesson)),
    ])
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
    result = cli("learn", "--db", str(db), "--json", "--replay-small", str(cassette))
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["extraction"].startswith("small model")
    assert [a["title"] for a in report["added"]] == ["Off-by-one in slice ends"]
    with Store(db) as store:
        entry = store.conn.execute("SELECT scope, knowledge FROM knowledge").fetchone()
        episode = json.loads(store.conn.execute("SELECT data FROM episodes").fetchone()[0])
    assert tuple(entry) == ("global", lesson["knowledge"])
    assert "the same failure came back" in (episode.get("judge") or "")


def test_offline_ignores_a_reachable_model(cli, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
    result = cli("learn", "--db", str(db), "--json", "--offline")
    assert result.code == 0, result.stderr
    assert result.json()["extraction"] == "offline template"
    assert "expected 3 got 2" in result.json()["added"][0]["title"]


def test_with_a_model_a_near_duplicate_is_merged_into_one_generalized_entry(cli, db: Path, tmp_path: Path) -> None:
    import json

    from tests.conftest import write_cassette
    from tests.fakes.anthropic_server import message

    lesson = {"title": "Off-by-one in slice ends", "scope": "project",
              "description": "A parser test fails with AssertionError expected 3 got 2 after slicing a list.",
              "knowledge": "Slice ends are exclusive: use items[:len(items)], not len(items) - 1."}
    general = {"title": "Slice ends are exclusive",
               "description": "A failing parser test: AssertionError expected 3 got 2 (one short) after slicing "
                              "a list or string.",
               "knowledge": "Python slice ends are exclusive: never subtract 1 from the end; check with a one-item list."}
    yes = message("yes")
    cassette = write_cassette(tmp_path / "small.json", [yes, yes, yes, yes, message(json.dumps(lesson)),
                                                        message(json.dumps(lesson)), message(json.dumps(general))])
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
        _record(store, str(tmp_path), STUCK_TURNS, T0 + 3600)
    result = cli("learn", "--db", str(db), "--json", "--replay-small", str(cassette))
    assert result.code == 0, result.stderr
    report = result.json()
    assert len(report["merged"]) == 1  # (admitted or not depends on the embedder; the merge does not)
    with Store(db) as store:
        rows = store.conn.execute("SELECT title, knowledge, merged_count, sources FROM knowledge").fetchall()
    assert len(rows) == 1
    assert (rows[0]["title"], rows[0]["knowledge"], rows[0]["merged_count"]) == (
        general["title"], general["knowledge"], 2)
    assert len(json.loads(rows[0]["sources"])) == 2


def test_offline_a_near_duplicate_keeps_the_representative_text(cli, db: Path, tmp_path: Path) -> None:
    with Store(db) as store:
        _record(store, str(tmp_path), STUCK_TURNS, T0)
        _record(store, str(tmp_path), STUCK_TURNS, T0 + 3600)
    result = cli("learn", "--db", str(db), "--json", "--offline")
    assert result.code == 0, result.stderr
    with Store(db) as store:
        rows = store.conn.execute("SELECT title, merged_count FROM knowledge").fetchall()
    assert len(rows) == 1 and rows[0]["merged_count"] == 2 and "expected 3 got 2" in rows[0]["title"]


def test_a_pruned_entry_learned_again_by_five_sessions_is_measured_anew(cli, db: Path) -> None:
    with Store(db) as store:
        _entry(store, "k-back", "pruned too early", created=T0)
        with store.conn:
            store.conn.execute("UPDATE knowledge SET status = 'pruned' WHERE id = 'k-back'")
            store.conn.execute("INSERT INTO knowledge_log (entry_id, ts, action, from_status, to_status, reason, e_value)"
                               " VALUES ('k-back', ?, 'prune', 'probation', 'pruned', 'harm', 45.0)", (T0 + 10,))
            store.conn.executemany(
                "INSERT INTO episodes (ref, session_id, repo, status, started_at, ended_at, data, entry_id)"
                " VALUES (?, ?, '/r', ?, ?, ?, '{}', 'k-back')",
                [(f"ep-{i}", f"s-{i}", "resolved" if i else "abandoned", T0 + 100 + i, T0 + 200 + i) for i in range(6)]
                + [("ep-old", "s-old", "resolved", T0 + 1, T0 + 2)])  # before the prune: not new evidence
    moves = cli("learn", "--db", str(db), "--json").json()["moves"]
    assert [(m["action"], m["to_status"]) for m in moves] == [("relearn", "probation")]
    with Store(db) as store:
        row = store.conn.execute("SELECT status, holdout FROM knowledge WHERE id = 'k-back'").fetchone()
        actions = [r[0] for r in store.conn.execute("SELECT action FROM knowledge_log WHERE entry_id = 'k-back' ORDER BY id")]
    assert tuple(row) == ("probation", 0.5) and actions[-2:] == ["prune", "relearn"]
    assert cli("learn", "--db", str(db), "--json").json()["moves"] == []  # once, not at every look
