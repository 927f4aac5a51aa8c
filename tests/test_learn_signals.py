"""Signal detectors over hand-written session event lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from once.events import (
    Feedback,
    RunStarted,
    TestResult,
    ToolCall,
    ToolResult,
    Undone,
    UserMessage,
)
from once.learn import phrases
from once.learn.signals import detect_signals, similarity, user_turns


class Session:
    """Builds one session's stored events (`to_dict()` shape) with a deterministic clock."""

    def __init__(self, session_id: str = "s1") -> None:
        self.session_id = session_id
        self.events: list[dict[str, Any]] = []
        self.clock = 1000.0
        self.runs = 0
        self.run_id = ""

    def _add(self, event: Any) -> None:
        self.clock += 1.0
        event.ts = self.clock
        self.events.append(json.loads(json.dumps(event.to_dict())))  # as the store returns it

    def prompt(self, text: str) -> Session:
        self.runs += 1
        self.run_id = f"{self.session_id}-r{self.runs}"
        self._add(RunStarted(run_id=self.run_id, session_id=self.session_id, repo="/r", prompt=text,
                             mode="agent", provider="replay", model="m"))
        self._add(UserMessage(run_id=self.run_id, text=text))
        return self

    def commit(self, sha: str = "abc1234", files: tuple[str, ...] = ("a.py",)) -> Session:
        from once.events import CommitMade

        self._add(CommitMade(run_id=self.run_id, turn=1, sha=sha, subject="agent: edit", files=list(files)))
        return self

    def check(self, passed: bool, signature: str = "", check: str = "pytest") -> Session:
        self._add(TestResult(run_id=self.run_id, turn=1, check=check, command="pytest", passed=passed,
                             passed_count=1 if passed else 0, failed_count=0 if passed else 1,
                             duration_ms=1.0, signature="" if passed else signature, summary=""))
        return self

    def tool(self, name: str, inp: dict[str, Any], output: str, n: int = 1) -> Session:
        for _ in range(n):
            use_id = f"tu{len(self.events)}"
            self._add(ToolCall(run_id=self.run_id, turn=1, tool_use_id=use_id, name=name, input=inp))
            self._add(ToolResult(run_id=self.run_id, turn=1, tool_use_id=use_id, name=name, is_error=False,
                                 output=output, duration_ms=1.0))
        return self

    def feedback(self, rating: str, comment: str = "") -> Session:
        self._add(Feedback(run_id=self.run_id, rating=rating, comment=comment))
        return self

    def undo(self, reason: str = "") -> Session:
        self._add(Undone(run_id=self.run_id, shas=["abc1234"], method="revert", reason=reason))
        return self

    def finish(self, status: str = "done") -> Session:
        from once.events import RunFinished

        self._add(RunFinished(run_id=self.run_id, status=status, result="", turns=1, usage={}, cost_usd=0.0))
        return self


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [s.kind for s in detect_signals(events)]


def test_user_turns_count_the_prompt_once_not_its_echo() -> None:
    s = Session().prompt("add a cache to the repo map").finish()
    turns = user_turns(s.events)
    assert [t.text for t in turns] == ["add a cache to the repo map"]


def test_repeated_request_is_found_and_unrelated_prompts_are_not() -> None:
    s = Session()
    s.prompt("add tests for the --map-tokens option with gpt-4o").commit().finish()
    s.prompt("rename the config loader to load_settings").commit().finish()
    s.prompt("add tests for --map-tokens: use gpt-4o and mock RepoMap").finish()
    signals = [x for x in detect_signals(s.events) if x.kind == "repeated_request"]
    assert [x.run_id for x in signals] == ["s1-r3"]
    assert "mock RepoMap" in signals[0].evidence


def test_trivial_prompts_are_never_repeats() -> None:
    s = Session().prompt("do that").finish().prompt("do that").finish().prompt("ok").finish().prompt("ok")
    assert "repeated_request" not in kinds(s.events)


def test_similarity_orders_rewordings_above_unrelated_requests() -> None:
    base = "the tooltip is showing undefined NaN lines in the chart"
    assert similarity(base, "why is the tooltip showing undefined NaN lines?") > 0.5
    assert similarity(base, "add a --read option like --file for read only files") < 0.2


@pytest.mark.parametrize("text", [
    "it still fails with the same error", "still broken!", "That broke everything", "that didn't work",
    "no, I meant the other function", "same error as before", "the tooltips show 0 lines",
])
def test_complaint_phrases(text: str) -> None:
    assert phrases.complaint_phrase(text), text


@pytest.mark.parametrize("text", [
    "add a test for the cache", "will they still support curses?", "use the Spinner instead",
    "same problem if the app ran as an api", "is there a better way to do this?",
])
def test_not_complaints(text: str) -> None:
    assert not phrases.complaint_phrase(text), text


def test_complaint_needs_an_earlier_turn_and_a_paste_needs_an_earlier_edit() -> None:
    first = Session().prompt("that didn't work, the parser is still broken").finish()
    assert "complaint" not in kinds(first.events)  # nothing of the agent's to complain about yet
    paste = "Traceback (most recent call last):\n  File 'x.py'\nValueError: bad head"
    no_edit = Session().prompt("why does the parser fail?").finish().prompt(paste).finish()
    assert "complaint" not in kinds(no_edit.events)
    edited = Session().prompt("fix the parser").commit().finish().prompt(paste).finish()
    assert kinds(edited.events).count("complaint") == 1


def test_same_failure_and_checks_passed() -> None:
    s = Session().prompt("fix the import")
    s.check(False, "E402 module level import").check(False, "E402 module level import").check(True).finish()
    found = kinds(s.events)
    assert found.count("same_failure") == 1
    assert found.count("checks_passed") == 1


def test_feedback_undo_and_note_are_signals() -> None:
    s = Session().prompt("refactor the loader").commit().feedback("down", "wrong file").undo("broke main")
    s.feedback("up").finish()
    found = detect_signals(s.events)
    assert [x.kind for x in found if x.kind != "abandonment"] == ["thumbs_down", "undo", "thumbs_up"]
    assert found[1].evidence == "broke main"


def test_self_loop_rule_of_four() -> None:
    three = Session().prompt("find the bug").tool("read_file", {"path": "a.py"}, "same text", n=3).finish()
    assert "self_loop" not in kinds(three.events)
    four = Session().prompt("find the bug").tool("read_file", {"path": "a.py"}, "same text", n=4).finish()
    assert kinds(four.events).count("self_loop") == 1
    eight = Session().prompt("find the bug").tool("read_file", {"path": "a.py"}, "same text", n=8).finish()
    assert kinds(eight.events).count("self_loop") == 1  # one streak, one signal
    varied = Session().prompt("find the bug")
    for i in range(4):
        varied.tool("read_file", {"path": "a.py"}, f"text {i}")
    assert "self_loop" not in kinds(varied.finish().events)


def test_abandonment_when_the_session_ends_stuck_and_not_when_live() -> None:
    s = Session().prompt("fix the parser").commit().finish().prompt("it still fails").finish(status="interrupted")
    assert kinds(s.events)[-1] == "abandonment"
    assert "abandonment" not in [x.kind for x in detect_signals(s.events, session_ended=False)]
    happy = Session().prompt("fix the parser").commit().finish().prompt("it still fails").check(True).finish()
    assert "abandonment" not in kinds(happy.events)


def test_detection_is_idempotent_and_refs_are_unique() -> None:
    s = Session().prompt("fix the parser").commit().check(False, "E1 boom").finish()
    s.prompt("still broken, same error").check(False, "E1 boom").undo().feedback("down").finish()
    first = detect_signals(s.events)
    second = detect_signals(json.loads(json.dumps(s.events)))
    assert [x.ref for x in first] == [x.ref for x in second]
    assert len({x.ref for x in first}) == len(first)
    # Appending later events does not change the refs of what was already found.
    s.prompt("add a docstring").finish()
    later = {x.ref for x in detect_signals(s.events, session_ended=False)}
    assert {x.ref for x in first if x.kind != "abandonment"} <= later
