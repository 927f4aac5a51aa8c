"""`agent demo`, act two: stuck -> resolved -> `agent learn` -> the entry injected next session."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from once.learn import inject
from once.learn.inject import BLOCK_HEADING


def _force_arms(monkeypatch: pytest.MonkeyPatch, arms: list[str]) -> list[str]:
    """Replace the holdout draw by a fixed sequence of arms (the last one repeats); returns the sessions drawn."""
    drawn: list[str] = []

    def draw(salt: str, entry_id: str, session_id: str, holdout: float) -> str:
        drawn.append(session_id)
        return arms[min(len(drawn), len(arms)) - 1]

    monkeypatch.setattr(inject, "draw_arm", draw)
    return drawn


def _data_files(home: Path) -> list[Path]:
    """Files under the home directory, leaving out ~/.cache: the optional ONNX runtime that
    embeds text keeps its own device id there, which is none of once's data."""
    return sorted(p.relative_to(home) for p in home.rglob("*") if p.relative_to(home).parts[0] != ".cache")


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_act_two_learns_an_entry_and_the_next_session_sees_it(cli, tmp_path, isolated_env, monkeypatch):
    _force_arms(monkeypatch, ["injected"])
    user_db = isolated_env / "mine.db"
    monkeypatch.setenv("ONCE_DB", str(user_db))
    before = _data_files(isolated_env)
    result = cli("demo", "--dir", str(tmp_path / "demo"), "--json")
    assert result.code == 0, result.stderr
    learning = result.json()["learning"]
    # the recorded session: two failures with the same error, then the fix, then thanks
    assert [t["check"] for t in learning["turns"]] == ["failed", "failed", "passed", ""]
    assert learning["turns"][0]["failure"] == learning["turns"][1]["failure"] != ""
    assert learning["learn"]["resolved"] == 1 and len(learning["learn"]["added"]) == 1
    entry = learning["entry"]
    assert entry["status"] == "probation" and "¡Hola" in entry["knowledge"]
    # the next session: the entry retrieved, injected, and in the model's first request
    last = learning["tries"][-1]
    assert len(learning["tries"]) == 1 and learning["injected"]
    assert [e["arm"] for e in last["exposures"]] == ["injected"] and last["exposures"][0]["entry_id"] == entry["id"]
    assert last["block"].startswith(BLOCK_HEADING) and entry["title"] in last["block"]
    assert last["check"] == "passed"
    assert "¡Adiós" in (tmp_path / "demo" / "greeter" / "greet.py").read_text(encoding="utf-8")
    db = Path(learning["db"])
    assert db.parent == tmp_path / "demo"
    assert _rows(db, "SELECT id, status FROM knowledge") == [(entry["id"], "probation")]
    assert _rows(db, "SELECT status FROM episodes") == [("resolved",)]
    assert _rows(db, "SELECT arm FROM exposures") == [("injected",)]
    # nothing written outside the sandbox: the user's database and data dirs are untouched
    assert not user_db.exists()
    assert _data_files(isolated_env) == before


def test_two_held_out_sessions_in_a_row_each_start_from_the_same_code(cli, tmp_path, monkeypatch):
    _force_arms(monkeypatch, ["holdout", "holdout", "injected"])
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.code == 0, result.stderr
    assert result.stdout.count("This session was held out to measure the entry") == 2
    assert "the check failed: FAIL: farewell Ana lang=es" in result.stdout
    assert "¡Adiós" in (tmp_path / "demo" / "greeter" / "greet.py").read_text(encoding="utf-8")
    arms = _rows(tmp_path / "demo" / "learning.db", "SELECT arm FROM exposures ORDER BY ts, rowid")
    assert arms == [("holdout",), ("holdout",), ("injected",)]


def test_a_held_out_session_is_said_and_another_one_started(cli, tmp_path, monkeypatch):
    drawn = _force_arms(monkeypatch, ["holdout", "injected"])
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "This session was held out to measure the entry" in out and "Starting another session" in out
    assert out.index("held out to measure") < out.index(BLOCK_HEADING)
    # the held-out session replays the model that did not see the lesson: it repeats the mistake
    assert "the check failed: FAIL: farewell Ana lang=es" in out
    assert len(set(drawn)) == 2  # a new session, so a new draw
    arms = _rows(tmp_path / "demo" / "learning.db", "SELECT arm FROM exposures ORDER BY ts, rowid")
    assert arms == [("holdout",), ("injected",)]


@pytest.fixture
def hashed_embeddings(monkeypatch):
    """Learning and retrieval without the optional ONNX model (how a plain install runs)."""
    import once.learn.minilm

    monkeypatch.setattr(once.learn.minilm, "minilm_available", lambda: False)
    inject._default_embedder.cache_clear()
    yield
    inject._default_embedder.cache_clear()


def test_text_output_tells_the_story_briefly(cli, tmp_path, monkeypatch, hashed_embeddings):
    _force_arms(monkeypatch, ["injected"])
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.code == 0, result.stderr
    out = result.stdout
    for expected in ("Act two", "still failing, same error", "the check fails with the same error again",
                     "that works, thanks", "$ agent learn", "status probation", "title:", "description:",
                     "knowledge:", "drew the injected arm", BLOCK_HEADING, "agent knowledge list --db",
                     "agent learn --db"):
        assert expected in out, expected
    assert out.index("New entry") < out.index(BLOCK_HEADING) < out.index("The holdout keeps")
    assert len(out.splitlines()) < 80
    learned = _rows(tmp_path / "demo" / "learning.db", "SELECT status, embedder FROM knowledge")
    assert learned == [("probation", "hashed-ngram-512")]
