"""The store: sessions, runs, events, messages, redaction on write, durability."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from once.errors import StoreError, UsageError
from once.events import ModelResponse, RunFinished, RunStarted, ToolCall, ToolResult, UserMessage, event_from_dict
from once.ids import new_id
from once.store import RunRecord, Store, open_store

FAKE_KEY = "sk-ant-api03-" + "a" * 40
REPO = "/home/user/project"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "once.db"


@pytest.fixture
def store(db: Path):
    with Store(db) as opened:
        yield opened


def make_run(store: Store, session_id: str | None, *, run_id: str | None = None, prompt: str = "fix the bug",
             repo: str = REPO, started_at: float | None = None) -> RunRecord:
    run = RunRecord(id=run_id or new_id("r"), session_id=session_id, repo=repo, prompt=prompt, mode="agent",
                    provider="replay", model="claude-test", started_at=started_at or time.time())
    store.start_run(run)
    return run


def tool_result(run_id: str, output: str = "ok") -> ToolResult:
    return ToolResult(run_id=run_id, turn=1, tool_use_id="toolu_1", name="read_file", is_error=False,
                      output=output, duration_ms=1.5)


# -- sessions ------------------------------------------------------------------


def test_sessions_round_trip_and_listing(store: Store) -> None:
    first = store.create_session(REPO, title="first")
    other = store.create_session("/elsewhere")
    make_run(store, first, prompt="add a flag", started_at=1000.0)
    make_run(store, first, prompt="now test it", started_at=2000.0)
    assert first.startswith("s-")

    got = store.get_session(first)
    assert got is not None
    assert (got["id"], got["repo"], got["title"], got["runs"], got["first_prompt"]) == (
        first, REPO, "first", 2, "add a flag")
    assert got["updated_at"] >= got["created_at"]

    assert [s["id"] for s in store.list_sessions(REPO)] == [first]
    assert {s["id"] for s in store.list_sessions()} == {first, other}
    assert store.list_sessions(limit=1)[0]["id"] in {first, other}
    assert store.get_session("s-nope") is None
    assert store.get_session("") is None


def test_latest_session_follows_activity(store: Store) -> None:
    older = store.create_session(REPO)
    newer = store.create_session(REPO)
    assert store.latest_session(REPO) == newer
    run = make_run(store, older)
    store.finish_run(run.id, status="done", turns=1, usage={}, cost_usd=0.0, result="ok")
    assert store.latest_session(REPO) == older
    assert store.list_sessions(REPO)[0]["id"] == older
    assert store.latest_session("/no/such/repo") is None


def test_session_prefix_lookup_and_ambiguity(store: Store) -> None:
    now = time.time()
    for suffix in ("abc1", "abc2", "xyz9"):
        store.conn.execute("INSERT INTO sessions VALUES (?, ?, NULL, ?, ?)", (f"s-{suffix}", REPO, now, now))
    assert store.get_session("s-x")["id"] == "s-xyz9"  # type: ignore[index]
    with pytest.raises(UsageError) as info:
        store.get_session("s-abc")
    assert "s-abc1" in info.value.message and "s-abc2" in info.value.message


# -- runs ------------------------------------------------------------------------


def test_run_round_trip(store: Store) -> None:
    session = store.create_session(REPO)
    run = make_run(store, session)
    stored = store.get_run(run.id)
    assert stored == run
    assert stored is not None and stored.status == "running" and stored.finished_at is None

    usage = {"input_tokens": 120, "output_tokens": 30, "cache_creation_input_tokens": 7,
             "cache_read_input_tokens": 5}
    store.finish_run(run.id, status="done", turns=3, usage=usage, cost_usd=0.0123, result="Added the flag.")
    done = store.get_run(run.id)
    assert done is not None
    assert (done.status, done.turns, done.cost_usd, done.result) == ("done", 3, 0.0123, "Added the flag.")
    assert done.usage == usage
    assert done.finished_at is not None and done.finished_at >= done.started_at


def test_partial_usage_defaults_to_zero(store: Store) -> None:
    run = make_run(store, None)
    store.finish_run(run.id, status="max_turns", turns=9, usage={"input_tokens": 4}, cost_usd=0, result="")
    done = store.get_run(run.id)
    assert done is not None and done.usage == {"input_tokens": 4, "output_tokens": 0,
                                               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def test_finishing_an_unknown_run_is_an_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no such run"):
        store.finish_run("r-missing", status="done", turns=0, usage={}, cost_usd=0, result="")


def test_starting_a_run_twice_is_an_error(store: Store) -> None:
    run = make_run(store, None)
    with pytest.raises(StoreError, match=run.id):
        store.start_run(run)


def test_run_prefix_lookup_and_ambiguity(store: Store) -> None:
    for run_id in ("r-aaa1", "r-aaa2", "r-bbb1"):
        make_run(store, None, run_id=run_id)
    assert store.get_run("r-bbb1").id == "r-bbb1"  # type: ignore[union-attr]
    assert store.get_run("r-b").id == "r-bbb1"  # type: ignore[union-attr]
    assert store.get_run("r-c") is None
    with pytest.raises(UsageError) as info:
        store.get_run("r-aa")
    assert "r-aaa1" in info.value.message and "r-aaa2" in info.value.message
    assert "r-bbb1" not in info.value.message


def test_prefix_is_literal_not_a_pattern(store: Store) -> None:
    make_run(store, None, run_id="r-a_c")
    make_run(store, None, run_id="r-abc")
    assert store.get_run("r-a_").id == "r-a_c"  # type: ignore[union-attr]
    assert store.get_run("r-%") is None


def test_list_runs_newest_first_with_filters(store: Store) -> None:
    s1 = store.create_session(REPO)
    s2 = store.create_session(REPO)
    a = make_run(store, s1, started_at=100.0)
    b = make_run(store, s2, started_at=300.0)
    c = make_run(store, s1, started_at=200.0)
    d = make_run(store, None, repo="/other", started_at=400.0)
    assert [r.id for r in store.list_runs()] == [d.id, b.id, c.id, a.id]
    assert [r.id for r in store.list_runs(REPO)] == [b.id, c.id, a.id]
    assert [r.id for r in store.list_runs(session_id=s1)] == [c.id, a.id]
    assert [r.id for r in store.list_runs(REPO, limit=2)] == [b.id, c.id]
    assert store.latest_run().id == d.id  # type: ignore[union-attr]
    assert store.latest_run(REPO).id == b.id  # type: ignore[union-attr]
    assert store.latest_run("/nowhere") is None


def test_mark_interrupted_only_touches_running_runs(store: Store) -> None:
    live = make_run(store, None)
    done = make_run(store, None)
    store.finish_run(done.id, status="done", turns=1, usage={}, cost_usd=0, result="ok")
    assert store.mark_interrupted(live.id) is True
    assert store.mark_interrupted(done.id) is False
    interrupted = store.get_run(live.id)
    assert interrupted is not None and interrupted.status == "interrupted"
    assert interrupted.finished_at is not None
    assert store.get_run(done.id).status == "done"  # type: ignore[union-attr]


# -- events ------------------------------------------------------------------------


def test_events_round_trip_in_seq_order(store: Store) -> None:
    session = store.create_session(REPO)
    run = make_run(store, session)
    events = [
        RunStarted(run_id=run.id, session_id=session, repo=REPO, prompt="p", mode="agent", provider="replay",
                   model="m"),
        ToolCall(run_id=run.id, turn=1, tool_use_id="toolu_1", name="read_file", input={"path": "a.py"}),
        tool_result(run.id, "line 1\nline 2"),
        ModelResponse(run_id=run.id, turn=1, model="m", stop_reason="end_turn", text="done", tool_calls=0,
                      usage={"input_tokens": 3}, cost_usd=0.001, duration_ms=12.0),
        RunFinished(run_id=run.id, status="done", result="done", turns=1, usage={}, cost_usd=0.001),
    ]
    for event in events:
        store.append_event(event)
    stored = store.run_events(run.id)
    assert stored == [e.to_dict() for e in events]
    assert [event_from_dict(d) for d in stored] == events
    rows = store.conn.execute("SELECT seq, type FROM events WHERE run_id = ? ORDER BY id", (run.id,)).fetchall()
    assert [tuple(r) for r in rows] == [(i, e.type) for i, e in enumerate(events, start=1)]
    assert store.run_events("r-none") == []


def test_seq_is_per_run_and_continues_after_reopen(db: Path) -> None:
    with Store(db) as store:
        a = make_run(store, None)
        b = make_run(store, None)
        for text in ("a1", "a2"):
            store.append_event(UserMessage(run_id=a.id, text=text))
        store.append_event(UserMessage(run_id=b.id, text="b1"))
    with Store(db) as store:
        store.append_event(UserMessage(run_id=a.id, text="a3"))
        seqs = store.conn.execute("SELECT run_id, seq FROM events ORDER BY id").fetchall()
        assert [tuple(r) for r in seqs] == [(a.id, 1), (a.id, 2), (b.id, 1), (a.id, 3)]
        assert [e["text"] for e in store.run_events(a.id)] == ["a1", "a2", "a3"]


def test_event_for_an_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="r-ghost"):
        store.append_event(UserMessage(run_id="r-ghost", text="hi"))


def test_two_stores_on_one_file_stay_consistent(db: Path) -> None:
    with Store(db) as one, Store(db) as two:
        run = make_run(one, one.create_session(REPO))
        for i in range(30):
            writer = one if i % 3 else two
            writer.append_event(UserMessage(run_id=run.id, text=str(i)))
        assert [e["text"] for e in two.run_events(run.id)] == [str(i) for i in range(30)]
        seqs = [r[0] for r in one.conn.execute("SELECT seq FROM events WHERE run_id = ? ORDER BY id", (run.id,))]
        assert seqs == list(range(1, 31))
        assert two.get_run(run.id) == one.get_run(run.id)


def test_event_insert_is_fast(store: Store) -> None:
    run = make_run(store, None)
    output = "def handler(request):\n    return request.json()\n" * 40
    start = time.process_time()  # CPU time: a busy machine slows the wall clock, not the work
    for _ in range(300):
        store.append_event(tool_result(run.id, output))
    per_event = (time.process_time() - start) / 300
    assert per_event < 0.002, f"{per_event * 1000:.2f} ms per event"  # ~0.1 ms typical
    assert len(store.run_events(run.id)) == 300


KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from once.events import UserMessage
    from once.store import RunRecord, Store

    store = Store(Path(sys.argv[1]))
    session = store.create_session("/repo")
    store.start_run(RunRecord(id="r-killed", session_id=session, repo="/repo", prompt="p",
                              mode="agent", provider="replay", model="m"))
    for i in range(int(sys.argv[2])):
        store.append_event(UserMessage(run_id="r-killed", text=f"event {i}"))
    store.conn.execute("BEGIN IMMEDIATE")  # a transaction in flight when the process dies
    store.conn.execute("INSERT INTO events (run_id, seq, type, ts, data) VALUES ('r-killed', 999, 'x', 0, '{}')")
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_killed_process_leaves_every_committed_event(db: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db), "25"], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with Store(db) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = store.run_events("r-killed")
        assert [e["text"] for e in events] == [f"event {i}" for i in range(25)]
        run = store.get_run("r-killed")
        assert run is not None and run.status == "running"
        assert store.mark_interrupted("r-killed")
        store.append_event(UserMessage(run_id="r-killed", text="after"))
        assert store.run_events("r-killed")[-1]["text"] == "after"


# -- messages ----------------------------------------------------------------------


def test_messages_round_trip_in_order(store: Store) -> None:
    session = store.create_session(REPO)
    run1 = make_run(store, session)
    run2 = make_run(store, session)
    other = store.create_session(REPO)
    conversation = [
        ("user", [{"type": "text", "text": "add --verbose"}]),
        ("assistant", [{"type": "text", "text": "Reading."},
                       {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "cli.py"}}]),
        ("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "import argparse"}]),
    ]
    for role, content in conversation:
        store.append_message(session, run1.id, role, content)
    store.append_message(other, make_run(store, other).id, "user", [{"type": "text", "text": "elsewhere"}])
    store.append_message(session, run2.id, "user", [{"type": "text", "text": "and a test"}])
    history = store.session_messages(session)
    assert history == [{"role": r, "content": c} for r, c in conversation] + [
        {"role": "user", "content": [{"type": "text", "text": "and a test"}]}]
    seqs = [r[0] for r in store.conn.execute("SELECT seq FROM messages WHERE session_id = ? ORDER BY id",
                                             (session,))]
    assert seqs == [1, 2, 3, 4]
    assert store.session_messages("s-none") == []


def test_message_for_unknown_session_is_refused(store: Store) -> None:
    run = make_run(store, None)
    with pytest.raises(StoreError):
        store.append_message("s-ghost", run.id, "user", [{"type": "text", "text": "x"}])


# -- redaction -------------------------------------------------------------------


def test_nothing_secret_reaches_the_database(db: Path) -> None:
    with Store(db) as store:
        session = store.create_session(REPO, title=f"use {FAKE_KEY}")
        run = make_run(store, session, prompt=f"my key is {FAKE_KEY}, set it up")
        store.append_event(ToolCall(run_id=run.id, turn=1, tool_use_id="toolu_1", name="run_command",
                                    input={"command": f"export ANTHROPIC_API_KEY={FAKE_KEY}"}))
        store.append_event(tool_result(run.id, f"ANTHROPIC_API_KEY={FAKE_KEY}\n"))
        store.append_message(session, run.id, "user", [{"type": "text", "text": f"key {FAKE_KEY}"}])
        store.finish_run(run.id, status="done", turns=1, usage={}, cost_usd=0, result=f"Saved {FAKE_KEY}.")

        assert FAKE_KEY not in store.get_run(run.id).prompt  # type: ignore[union-attr]
        assert "[REDACTED:anthropic_key]" in store.get_run(run.id).result  # type: ignore[union-attr, operator]
        assert FAKE_KEY not in json.dumps(store.run_events(run.id))
        assert "[REDACTED:anthropic_key]" in store.session_messages(session)[0]["content"][0]["text"]
        for table in ("sessions", "runs", "events", "messages"):
            dump = json.dumps([tuple(r) for r in store.conn.execute(f"SELECT * FROM {table}")])
            assert "sk-ant-" not in dump, table
        assert "[REDACTED:anthropic_key]" in json.dumps([tuple(r) for r in store.conn.execute("SELECT * FROM events")])
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert b"sk-ant-" not in raw
    assert b"REDACTED:anthropic_key" in raw


# -- lifecycle -------------------------------------------------------------------


def test_closed_store_refuses_work(db: Path) -> None:
    store = Store(db)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()


def test_open_store_resolves_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.db"
    from_env = tmp_path / "env.db"
    monkeypatch.setenv("ONCE_DB", str(from_env))
    with open_store(str(explicit)) as store:
        assert store.path == explicit
    with open_store() as store:
        assert store.path == from_env
    monkeypatch.delenv("ONCE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with open_store() as store:
        assert store.path == tmp_path / "xdg" / "once" / "once.db"
    assert explicit.is_file() and from_env.is_file()


def test_rows_are_readable_by_plain_sqlite(db: Path) -> None:
    with Store(db) as store:
        run = make_run(store, store.create_session(REPO))
        store.append_event(UserMessage(run_id=run.id, text="hello"))
    raw = sqlite3.connect(db)
    try:
        (data,) = raw.execute("SELECT data FROM events").fetchone()
        assert json.loads(data)["text"] == "hello"
    finally:
        raw.close()
