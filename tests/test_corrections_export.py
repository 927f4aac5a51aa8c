"""Training-data export: each format checked against its schema, filtering, the summary, --balance."""

from __future__ import annotations

import json

from once.corrections.export import export_lines
from once.events import Feedback
from tests.corrections_fixtures import add_run, open_test_store

SECRET = "sk-ant-api03-" + "Z9y8X7w6V5u4T3s2R1q0" * 4
TOOL_USE = [{"type": "text", "text": "Reading."},
            {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.py"}}]
TOOL_RESULT = [{"type": "tool_result", "tool_use_id": "t1", "content": "x = 1", "is_error": False}]


def build(store, repo):
    """Session A: up, down (then answered again), unrated; session B: down then up; a run without messages."""
    up, session_a = add_run(store, repo, messages=[("user", "q1"), ("assistant", "a1")],
                            events=[Feedback(run_id="", rating="up", turn=1, model="m-big", ts=100.0)])
    down, _ = add_run(store, repo, session=session_a,
                      messages=[("user", f"q2 with {SECRET}"), ("assistant", TOOL_USE), ("user", TOOL_RESULT),
                                ("assistant", "a2 wrong")],
                      events=[Feedback(run_id="", rating="down", comment="wrong file", turn=2, model="m-big", ts=200.0)])
    add_run(store, repo, session=session_a, messages=[("user", "no, the other file"), ("assistant", "a3 right")])
    later, _ = add_run(store, repo, messages=[("user", "q4"), ("assistant", "a4")], model="m-small",
                       events=[Feedback(run_id="", rating="down", ts=400.0), Feedback(run_id="", rating="up", ts=401.0)])
    add_run(store, repo, events=[Feedback(run_id="", rating="up", ts=500.0)])
    return up, down, later


def check_alternating(messages):
    assert messages and messages[0]["role"] == "user"
    for before, after in zip(messages, messages[1:]):
        assert {before["role"], after["role"]} == {"user", "assistant"}
    for message in messages:
        assert isinstance(message["content"], (str, list))
        for block in message["content"] if isinstance(message["content"], list) else []:
            assert block["type"] in ("text", "tool_use", "tool_result")


def check_openai_messages(messages, *, final_weight=True):
    roles = [m["role"] for m in messages]
    assert set(roles) <= {"system", "user", "assistant", "tool"} and "system" not in roles[1:]
    open_calls: set[str] = set()
    for message in messages:
        assert isinstance(message.get("content"), (str, type(None)))
        if message["role"] == "assistant":
            assert message["content"] is not None or message.get("tool_calls")
            open_calls = {c["id"] for c in message.get("tool_calls", [])}
            for call in message.get("tool_calls", []):
                assert call["type"] == "function" and isinstance(json.loads(call["function"]["arguments"]), dict)
            if final_weight:
                assert message["weight"] in (0, 1)
        elif message["role"] == "tool":
            assert message["tool_call_id"] in open_calls
        else:
            assert "weight" not in message
    if final_weight:
        assert messages[-1]["role"] == "assistant" and messages[-1]["weight"] == 1
        assert sum(m.get("weight", 0) for m in messages) == 1


def export(tmp_path, fmt, **flags):
    repo = str(tmp_path / "repo")
    with open_test_store(tmp_path) as store:
        ids = build(store, repo)
        lines, summary = export_lines(store.conn, repo, fmt, system="SYS", **flags)
    return [json.loads(line) for line in lines], summary, ids


def test_jsonl_pairs_carry_rating_weight_and_filter_reasons(tmp_path):
    rows, summary, (up, down, later) = export(tmp_path, "jsonl", include_negative=True)
    assert [(r["run_id"], r["rating"]) for r in rows] == [(up, "up"), (down, "down"), (later, "up")]
    for row in rows:
        check_alternating(row["prompt"] + [row["completion"]])
        assert row["label"] == (1 if row["rating"] == "up" else 0) and 0 < row["weight"] <= 1
    assert [r["weight"] for r in rows] == [0.5, 0.5, 1.0]  # each session weighs 1 in total
    assert rows[1]["completion"]["content"][0]["text"] == "a2 wrong" and rows[1]["comment"] == "wrong file"
    assert rows[1]["model"] == "m-big" and rows[2]["model"] == "m-small"
    assert (summary.written, summary.positive, summary.negative) == (3, 2, 1)
    assert summary.filtered == {"rated again later (the latest rating counts)": 1,
                                "no stored conversation for the rated response": 1}
    assert SECRET not in json.dumps(rows)


def test_negatives_are_left_out_unless_asked(tmp_path):
    rows, summary, _ = export(tmp_path, "jsonl")
    assert {r["rating"] for r in rows} == {"up"} and summary.filtered["thumbs-down (add --include-negative)"] == 1


def test_balance_keeps_as_many_up_as_down(tmp_path):
    rows, summary, (_, down, later) = export(tmp_path, "jsonl", include_negative=True, balance=True)
    assert sorted(r["rating"] for r in rows) == ["down", "up"]
    assert [r["run_id"] for r in rows] == [down, later]  # the most recent thumbs-up is kept
    assert summary.filtered["dropped to balance up and down"] == 1


def test_anthropic_lines_are_messages_api_conversations(tmp_path):
    rows, summary, _ = export(tmp_path, "anthropic", include_negative=True)
    assert len(rows) == 2 and summary.negative == 0
    for row in rows:
        assert set(row) == {"system", "messages"} and row["system"] == "SYS"
        check_alternating(row["messages"])
        assert row["messages"][-1]["role"] == "assistant"
    assert any("anthropic format has no rating" in reason for reason in summary.filtered)


def test_openai_chat_fine_tuning_lines(tmp_path):
    rows, _summary, _ = export(tmp_path, "openai")
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"messages"} and row["messages"][0] == {"role": "system", "content": "SYS"}
        check_openai_messages(row["messages"])


def test_openai_preference_pairs_from_negatives(tmp_path):
    rows, summary, _ = export(tmp_path, "openai", include_negative=True)
    [row] = rows
    assert set(row) == {"input", "preferred_output", "non_preferred_output"}
    check_openai_messages(row["input"]["messages"], final_weight=False)
    assert row["input"]["messages"][-1]["role"] == "tool"  # the context ends where the rated answer began
    [preferred], [rejected] = row["preferred_output"], row["non_preferred_output"]
    assert (preferred["role"], preferred["content"]) == ("assistant", "a3 right")
    assert (rejected["role"], rejected["content"]) == ("assistant", "a2 wrong")
    assert summary.filtered["thumbs-up: the preference format needs a thumbs-down to pair with"] == 2
