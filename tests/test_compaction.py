"""Compaction keeps the task, the recent turns and tool pairing; the summary says what happened."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from once.agent.compaction import (
    REINJECT_HEADER, SUMMARY_HEADER, SUMMARY_SYSTEM, compact, deterministic_summary, estimate_tokens,
    needs_compaction, render_transcript,
)
from once.errors import CassetteError, ProviderError

Msg = dict[str, Any]


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def use(uid: str, name: str, **args: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": uid, "name": name, "input": args}


def result(uid: str, content: str, is_error: bool = False) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": uid, "content": content, "is_error": is_error}


def user(*blocks: dict[str, Any]) -> Msg:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: dict[str, Any]) -> Msg:
    return {"role": "assistant", "content": list(blocks)}


def blocks(message: Msg) -> list[dict[str, Any]]:
    content = message["content"]
    return [text(content)] if isinstance(content, str) else content


def assert_well_formed(messages: list[Msg]) -> None:
    """Starts with user, alternates, every result answers a call of the assistant just before,
    and every call (except in a trailing assistant message) is answered by the next message."""
    assert messages and messages[0]["role"] == "user"
    for before, after in zip(messages, messages[1:]):
        assert before["role"] != after["role"]
    seen: set[str] = set()
    for i, message in enumerate(messages):
        uses = [b["id"] for b in blocks(message) if b["type"] == "tool_use"]
        assert not seen & set(uses)
        seen |= set(uses)
        answered = {b["tool_use_id"] for b in blocks(message) if b["type"] == "tool_result"}
        previous = {b["id"] for b in blocks(messages[i - 1]) if b["type"] == "tool_use"} if i else set()
        assert answered <= previous
        if uses and i + 1 < len(messages):
            following = {b["tool_use_id"] for b in blocks(messages[i + 1]) if b["type"] == "tool_result"}
            assert set(uses) <= following


def realistic() -> list[Msg]:
    return [
        user(text("Fix the failing test in src/app.py and document it.")),
        assistant(text("Let me look around."), use("t1", "read_file", path="src/app.py"),
                  use("t2", "search", pattern="def total")),
        user(result("t1", "1\tdef total(xs):\n2\t    return sum(xs) + 1"), result("t2", "src/app.py:1: def total")),
        assistant(use("t3", "run_command", command="python -m pytest -q")),
        user(result("t3", "Exit code: 1\nFAILED tests/test_app.py::test_total - assert 7 == 6", True)),
        assistant(text("Off by one in total()."), use("t4", "edit_file", path="src/app.py",
                  old_string="sum(xs) + 1", new_string="sum(xs)"),
                  use("t5", "write_file", path="tests/test_extra.py", content="def test_x():\n    pass\n")),
        user(result("t4", "Edited src/app.py"), result("t5", "Wrote tests/test_extra.py")),
        assistant(use("t6", "edit_file", path="src/missing.py", old_string="a", new_string="b")),
        user(result("t6", "File not found: src/missing.py", True)),
        assistant(use("t7", "run_command", command="python -m pytest -q")),
        user(result("t7", "Exit code: 0\n3 passed in 0.02s")),
        assistant(text("The off-by-one is fixed and all tests pass.")),
        user(text("Now also add a docs page.")),
        assistant(use("t8", "write_file", path="docs/total.md", content="# total\n")),
        user(result("t8", "Wrote docs/total.md")),
        assistant(use("t9", "read_file", path="docs/total.md"), use("t10", "list_files", path="docs")),
        user(result("t9", "1\t# total"), result("t10", "docs/total.md")),
    ]


def test_realistic_conversation_is_well_formed_fixture() -> None:
    assert_well_formed(realistic())


def test_compact_keeps_task_recent_turns_and_pairing() -> None:
    messages = realistic()
    original = copy.deepcopy(messages)
    out = compact(messages, keep_recent_turns=2, small=None)
    assert messages == original  # the input is not modified
    assert_well_formed(out.messages)
    assert out.messages[0]["content"][0] == original[0]["content"][0]
    # The last two assistant turns (t8 and the parallel t9/t10) with their results, verbatim.
    assert out.messages[1:] == original[-4:]
    assert out.removed == len(original) - 5
    assert out.method == "truncate"
    assert out.messages[0]["content"][1]["text"].startswith(SUMMARY_HEADER)
    assert "summar" in out.messages[0]["content"][1]["text"].lower()


def test_tail_can_start_at_a_final_text_turn() -> None:
    out = compact(realistic(), keep_recent_turns=3, small=None)
    assert_well_formed(out.messages)
    assert out.messages[1] == assistant(text("The off-by-one is fixed and all tests pass."))


def test_token_estimate_drops_after_compaction() -> None:
    messages = realistic()
    messages[2] = user(result("t1", "x = 1\n" * 3000), result("t2", "src/app.py:1: def total"))
    before = estimate_tokens(messages, "system prompt")
    out = compact(messages, keep_recent_turns=2, small=None)
    assert estimate_tokens(out.messages, "system prompt") < before / 2


def test_estimate_counts_system_tool_inputs_and_results() -> None:
    base = [user(text("hi"))]
    assert estimate_tokens(base, "s" * 400) >= estimate_tokens(base) + 100
    big_input = [user(text("hi")), assistant(use("a", "write_file", path="p", content="y" * 4000))]
    assert estimate_tokens(big_input) >= estimate_tokens(base) + 1000
    big_result = big_input + [user(result("a", "z" * 4000))]
    assert estimate_tokens(big_result) >= estimate_tokens(big_input) + 1000
    assert estimate_tokens([{"role": "user", "content": "w" * 400}]) >= 100


def test_needs_compaction_threshold() -> None:
    messages = [user(text("a" * 4000))]  # about 1,000 tokens
    assert needs_compaction(messages, "", budget_tokens=1000)
    assert not needs_compaction(messages, "", budget_tokens=2000)
    assert needs_compaction(messages, "", budget_tokens=2000, threshold=0.5)
    with pytest.raises(ValueError):
        needs_compaction(messages, "", budget_tokens=0)


def test_offline_summary_lists_edits_and_commands_with_exit_codes() -> None:
    out = compact(realistic(), keep_recent_turns=2, small=None)
    summary = out.summary
    assert "Files edited or written: src/app.py, tests/test_extra.py" in summary
    assert "src/missing.py" not in summary.split("Files edited or written:")[1].splitlines()[0]
    assert "- edit_file src/missing.py (error)" in summary
    assert "`python -m pytest -q` -> exit code 1" in summary
    assert "`python -m pytest -q` -> exit code 0" in summary
    assert "- read_file src/app.py" in summary and "- search def total" in summary
    assert "The off-by-one is fixed and all tests pass." in summary
    assert "Now also add a docs page." in summary
    assert summary in out.messages[0]["content"][1]["text"]


def test_offline_summary_is_capped_and_keeps_recent_calls() -> None:
    middle: list[Msg] = []
    for i in range(300):
        middle += [assistant(use(f"r{i}", "read_file", path=f"src/module_{i}.py")), user(result(f"r{i}", "ok"))]
    middle += [assistant(use("w", "write_file", path="src/final.py", content="x")), user(result("w", "Wrote"))]
    summary = deterministic_summary(middle, max_chars=2000)
    assert len(summary) <= 2000
    assert "src/final.py" in summary and "src/module_299.py" in summary
    assert "earliest omitted" in summary and "src/module_0.py" not in summary


def test_command_not_run_is_reported_as_error() -> None:
    middle = [assistant(use("c", "run_command", command="rm -rf /")),
              user(result("c", "Refused: the command is blocked.", True))]
    assert "`rm -rf /` -> error: Refused: the command is blocked." in deterministic_summary(middle)


def test_small_model_answer_is_used() -> None:
    asked: list[tuple[str, str]] = []

    def small(system: str, question: str) -> str:
        asked.append((system, question))
        return "  Fixed total(); tests pass; docs remain.  "

    out = compact(realistic(), keep_recent_turns=2, small=small)
    assert out.method == "small_model"
    assert out.summary == "Fixed total(); tests pass; docs remain."
    assert_well_formed(out.messages)
    (system, question), = asked
    assert system == SUMMARY_SYSTEM
    for heading in ("What was done", "Files changed", "Decisions", "Errors seen", "What remains"):
        assert heading in system
    assert 'read_file(path="src/app.py")' in question
    assert "[result run_command error] Exit code: 1" in question
    assert "docs/total.md" not in question  # the kept turns are not summarized


def test_small_model_answer_is_capped() -> None:
    out = compact(realistic(), keep_recent_turns=2, small=lambda s, q: "word " * 5000, max_summary_chars=500)
    assert out.method == "small_model" and len(out.summary) <= 500


@pytest.mark.parametrize("failure", ["raise", "empty", "blank"])
def test_small_model_failure_falls_back_to_truncation(failure: str) -> None:
    def small(system: str, question: str) -> str:
        if failure == "raise":
            raise CassetteError("no small-model answer recorded")
        return "" if failure == "empty" else "  \n "

    out = compact(realistic(), keep_recent_turns=2, small=small)
    assert out.method == "truncate"
    assert "Files edited or written: src/app.py" in out.summary
    assert_well_formed(out.messages)


def test_other_errors_from_the_small_model_propagate() -> None:
    def small(system: str, question: str) -> str:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        compact(realistic(), keep_recent_turns=2, small=small)
    assert issubclass(CassetteError, ProviderError)


def test_reinject_ends_the_summary_message() -> None:
    reinject = "AGENTS.md:\nRun tests with pytest.\n\nPlan open steps:\n3. Write docs"
    out = compact(realistic(), keep_recent_turns=2, small=None, reinject=reinject)
    last = out.messages[0]["content"][-1]["text"]
    assert last.startswith(REINJECT_HEADER) and last.endswith("3. Write docs")
    assert "Run tests with pytest." in last
    plain = compact(realistic(), keep_recent_turns=2, small=None)
    assert not any(b["text"].startswith(REINJECT_HEADER) for b in plain.messages[0]["content"])


def test_second_compaction_folds_the_first_summary_in() -> None:
    first = compact(realistic(), keep_recent_turns=3, small=None, reinject="PLAN v1")
    grown = first.messages + [
        assistant(use("t11", "run_command", command="make docs")), user(result("t11", "Exit code: 2\nno rule")),
        assistant(text("Docs target missing.")), user(text("Skip it.")),
    ]
    second = compact(grown, keep_recent_turns=1, small=None, reinject="PLAN v2")
    assert_well_formed(second.messages)
    head = [b["text"] for b in second.messages[0]["content"]]
    assert head[0] == realistic()[0]["content"][0]["text"]
    assert sum(t.startswith(SUMMARY_HEADER) for t in head) == 1
    assert [t for t in head if t.startswith(REINJECT_HEADER)] == [f"{REINJECT_HEADER}\nPLAN v2"]
    assert "Earlier summary:" in second.summary and "src/app.py" in second.summary
    assert "`make docs` -> exit code 2" in second.summary


@pytest.mark.parametrize("keep", [8, 9, 20])
def test_nothing_to_remove_returns_messages_unchanged(keep: int) -> None:
    messages = realistic()  # 8 assistant turns
    out = compact(messages, keep_recent_turns=keep, small=lambda s, q: pytest.fail("not asked"))
    assert out.removed == 0 and out.messages == messages and out.summary == ""


def test_single_task_message_is_left_alone() -> None:
    messages = [user(text("task"))]
    assert compact(messages, keep_recent_turns=0, small=None).removed == 0


def test_keep_zero_folds_everything_after_the_task() -> None:
    out = compact(realistic(), keep_recent_turns=0, small=None)
    assert len(out.messages) == 1 and out.removed == len(realistic()) - 1
    assert "docs/total.md" in out.summary
    assert_well_formed(out.messages)


def test_string_contents_from_history_are_handled() -> None:
    messages: list[Msg] = [{"role": "user", "content": "old task"}, {"role": "assistant", "content": "done"},
                           {"role": "user", "content": "next task"}, assistant(text("ok"))]
    out = compact(messages, keep_recent_turns=1, small=None)
    assert_well_formed(out.messages)
    assert out.messages[0]["content"][0] == text("old task")
    assert "next task" in out.summary and "done" in out.summary


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        compact(realistic(), keep_recent_turns=-1, small=None)
    with pytest.raises(ValueError):
        compact(realistic(), small=None, max_summary_chars=10)


def test_render_transcript_trims_long_results() -> None:
    rendered = render_transcript([assistant(use("a", "read_file", path="big.py")),
                                  user(result("a", "line\n" * 5000))])
    assert len(rendered) < 1000 and rendered.startswith('[call] read_file(path="big.py")')


# --- property: any valid conversation stays valid -------------------------------------------

NAMES = ("list_files", "read_file", "search", "edit_file", "write_file", "run_command")


@st.composite
def conversations(draw: st.DrawFn) -> list[Msg]:
    counter = iter(range(10_000))
    messages: list[Msg] = [user(text(draw(st.text(max_size=20))))]
    for _ in range(draw(st.integers(0, 10))):
        content: list[dict[str, Any]] = []
        if draw(st.booleans()):
            content.append(text(draw(st.text(max_size=30))))
        for _ in range(draw(st.integers(0, 3))):
            uid = f"toolu_{next(counter)}"
            content.append(use(uid, draw(st.sampled_from(NAMES)), path=draw(st.text(max_size=10))))
        messages.append(assistant(*content or [text("ok")]))
        calls = [b["id"] for b in content if b["type"] == "tool_use"]
        reply = [result(uid, draw(st.sampled_from(["ok", "Exit code: 0\n", "Exit code: 3\nboom"])),
                        draw(st.booleans())) for uid in calls]
        if draw(st.integers(0, 3)) == 0 or not calls:
            reply.append(text(draw(st.text(min_size=1, max_size=20))))
        pending = calls and draw(st.integers(0, 6)) == 0  # compaction may run mid-turn
        if pending:
            break
        messages.append(user(*reply))
    return messages


def scripted_small(kind: str) -> Any:
    def small(system: str, question: str) -> str:
        if kind == "raise":
            raise ProviderError("down")
        return "" if kind == "empty" else "summary of the turns"
    return small


@settings(max_examples=150, deadline=None)
@given(conversations(), st.integers(0, 6), st.sampled_from(["none", "answer", "raise", "empty"]),
       st.text(max_size=20))
def test_compaction_preserves_pairing_and_alternation(messages: list[Msg], keep: int, kind: str,
                                                     reinject: str) -> None:
    assert_well_formed(messages)
    original = copy.deepcopy(messages)
    small = None if kind == "none" else scripted_small(kind)
    out = compact(messages, keep_recent_turns=keep, small=small, reinject=reinject)
    assert messages == original
    assert_well_formed(out.messages)
    assert out.messages[0]["content"][0] == original[0]["content"][0]
    if out.removed == 0:
        assert out.messages == original
        return
    tail = len(out.messages) - 1
    assert out.messages[1:] == original[len(original) - tail:]
    assert out.removed == len(original) - 1 - tail
    assert sum(m["role"] == "assistant" for m in out.messages) == min(
        keep, sum(m["role"] == "assistant" for m in original))
    assert out.method == ("small_model" if kind == "answer" else "truncate")


def test_cut_moves_earlier_rather_than_orphan_a_late_tool_result() -> None:
    # Not what the loop produces, but a tool_result must never outlive its tool_use.
    messages = [user(text("task")), assistant(text("a")), user(text("go")),
                assistant(use("x", "run_command", command="make")), user(text("wait")),
                assistant(text("b")), user(result("x", "Exit code: 0"))]
    out = compact(messages, keep_recent_turns=1, small=None)
    assert out.messages[1:] == messages[3:] and out.removed == 2
