"""`agent feedback up|down|stats|export` on real replayed runs."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message


def replay_run(cli, repo, tmp_path, answer: str, prompt: str = "go") -> dict:
    cassette = write_cassette(tmp_path / f"c-{answer[:8]}.json", [message(answer)])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "json", prompt, cwd=repo)
    assert result.code == 0, result.stderr
    return result.json()


def test_rating_goes_to_the_latest_run_with_turn_and_model(cli, repo, tmp_path):
    first = replay_run(cli, repo, tmp_path, "First answer.")
    second = replay_run(cli, repo, tmp_path, "Second answer.")
    db = str(tmp_path / "db")
    up = cli("feedback", "up", "--db", db, "--json", cwd=repo)
    assert up.code == 0, up.stderr
    stored = up.json()
    assert (stored["run_id"], stored["rating"], stored["turn"]) == (second["run_id"], "up", 1)
    assert stored["model"]
    down = cli("feedback", "down", "--run", first["run_id"][:12], "-m", "wrong: use the stdlib", "--db", db, cwd=repo)
    assert down.code == 0 and "agent proposals scan" in down.stdout
    conn = sqlite3.connect(db)
    rows = [json.loads(r[0]) for r in conn.execute("SELECT data FROM events WHERE type = 'feedback' ORDER BY id")]
    conn.close()
    assert [(r["run_id"], r["rating"], r["comment"]) for r in rows] == [
        (second["run_id"], "up", ""), (first["run_id"], "down", "wrong: use the stdlib")]


def test_rating_errors_are_clear(cli, repo, tmp_path):
    none = cli("feedback", "up", "--db", str(tmp_path / "db"), cwd=repo)
    assert none.code == 2 and "no run" in none.stderr and "Traceback" not in none.stderr
    replay_run(cli, repo, tmp_path, "Answer.")
    bad_turn = cli("feedback", "up", "--turn", "5", "--db", str(tmp_path / "db"), cwd=repo)
    assert bad_turn.code == 2 and "no turn 5" in bad_turn.stderr


def test_stats_counts_latest_ratings_per_model_with_a_chart(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    for answer in ("One.", "Two.", "Three."):
        replay_run(cli, repo, tmp_path, answer)
        cli("feedback", "up", "--db", db, cwd=repo)
    cli("feedback", "down", "--db", db, cwd=repo)  # re-rates the last response
    data = cli("feedback", "stats", "--json", "--db", db, cwd=repo).json()
    assert data["total"] == {"up": 2, "down": 1, "rate": 2 / 3} and data["superseded"] == 1
    assert sum(p["up"] + p["down"] for p in data["by_period"]) == 3 and len(data["by_model"]) == 1
    text = cli("feedback", "stats", "--db", db, cwd=repo).stdout
    assert "2 up, 1 down" in text and "++-" in text and "67%" in text


def test_export_writes_a_file_and_a_summary(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    replay_run(cli, repo, tmp_path, "Good answer.", prompt="explain util.py")
    cli("feedback", "up", "--db", db, cwd=repo)
    replay_run(cli, repo, tmp_path, "Bad answer.")
    cli("feedback", "down", "--db", db, cwd=repo)
    out = tmp_path / "train.jsonl"
    result = cli("feedback", "export", "--format", "openai", "--out", str(out), "--db", db, cwd=repo)
    assert result.code == 0, result.stderr
    assert "wrote 1 example (" in result.stdout and "thumbs-down (add --include-negative)" in result.stdout
    [line] = out.read_text().splitlines()
    messages = json.loads(line)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert "explain util.py" in messages[1]["content"] and messages[2]["content"] == "Good answer."
    to_stdout = cli("feedback", "export", "--include-negative", "--json", "--db", db, cwd=repo)
    assert [json.loads(x)["rating"] for x in to_stdout.stdout.splitlines()] == ["up", "down"]
    assert json.loads(to_stdout.stderr)["written"] == 2


def test_export_min_examples_writes_nothing(cli, repo, tmp_path):
    db = str(tmp_path / "db")
    replay_run(cli, repo, tmp_path, "Answer.")
    cli("feedback", "up", "--db", db, cwd=repo)
    out = tmp_path / "t.jsonl"
    result = cli("feedback", "export", "--min-examples", "5", "--out", str(out), "--db", db, cwd=repo)
    assert result.code == 1 and "fewer than --min-examples 5" in result.stderr and not out.exists()
    bad = cli("feedback", "export", "--format", "csv", "--db", db, cwd=repo)
    assert bad.code == 2 and "jsonl, anthropic, openai" in bad.stderr
