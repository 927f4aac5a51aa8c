"""The stuck state machine and fixes inside a run, over hand-written sessions."""

from __future__ import annotations

from typing import Any

from test_learn_signals import Session

from once.events import FileChanged, ModelResponse
from once.learn.episodes import find_episodes, find_insights
from once.learn.signals import detect_signals


def episodes(s: Session, **kwargs: Any) -> list[Any]:
    ended = kwargs.pop("session_ended", True)
    return find_episodes(s.events, detect_signals(s.events, session_ended=ended), session_ended=ended, **kwargs)


def stuck_start(s: Session) -> Session:
    """A first attempt, then a complaint that repeats the request: weight 2, stuck."""
    s.prompt("make the parser accept trailing commas in lists").commit("c1").check(False, "E1 trailing comma").finish()
    s.prompt("still broken: make the parser accept trailing commas in lists").commit("c2")
    s.check(False, "E1 trailing comma").finish()
    return s


def test_one_complaint_alone_is_not_an_episode() -> None:
    s = Session().prompt("rename load to read").commit().finish().prompt("that didn't work").finish()
    s.prompt("add a docstring to read").commit().finish()
    assert episodes(s) == []


def test_resolution_by_checks_passing_then_quiet_turns() -> None:
    s = stuck_start(Session())
    s.prompt("try handling the comma in parse_list").commit("c3").check(True).finish()
    s.prompt("now add a changelog line").commit("c4").finish()
    assert episodes(s, session_ended=False)[0].status == "open"  # one quiet turn so far, K = 2
    s.prompt("and bump the version").commit("c5").finish()
    s.prompt("thanks, next: the lexer").finish()
    [episode] = episodes(s, session_ended=False)
    assert episode.status == "resolved"
    assert episode.resolving_run_id == "s1-r3"
    assert episode.resolving_commits == ["c3"]
    assert episode.opening_prompt == "make the parser accept trailing commas in lists"
    assert episode.failure_signature == "E1 trailing comma"
    assert "still broken" in episode.corrective_text
    assert "checks passed" in episode.heuristic and episode.judge is None


def test_a_complaint_during_the_quiet_turns_keeps_it_open() -> None:
    s = stuck_start(Session())
    s.prompt("try handling the comma in parse_list").commit("c3").check(True).finish()
    s.prompt("it still fails on nested lists").finish()
    s.prompt("add a test for nested lists").finish()
    [episode] = episodes(s, session_ended=False)
    assert episode.status == "open"


def test_resolution_by_thumbs_up() -> None:
    s = stuck_start(Session())
    s.prompt("handle the comma in parse_list").commit("c3").feedback("up").finish()
    [episode] = episodes(s, session_ended=False)
    assert (episode.status, episode.resolving_run_id, episode.resolving_commits) == ("resolved", "s1-r3", ["c3"])


def test_resolution_by_explicit_success_words_credits_the_previous_run() -> None:
    s = stuck_start(Session())
    s.prompt("handle the comma in parse_list").commit("c3").finish()
    s.prompt("perfect, that fixed it").finish()
    [episode] = episodes(s, session_ended=False)
    assert episode.status == "resolved"
    assert episode.resolving_run_id == "s1-r3"
    assert "success words" in episode.heuristic


def test_abandonment_when_the_session_ends_stuck() -> None:
    s = stuck_start(Session())
    s.prompt("it still does not work").finish(status="interrupted")
    [episode] = episodes(s)
    assert episode.status == "abandoned"
    assert episode.resolving_run_id is None
    assert [e.status for e in episodes(s, session_ended=False)] == ["open"]


def test_undo_alone_is_evidence_not_an_episode_but_self_loop_is() -> None:
    alone = Session().prompt("speed up the index").commit().undo().finish()
    alone.prompt("add a progress bar").commit("c9").finish()
    assert episodes(alone) == []
    twice = Session().prompt("speed up the index").commit().undo().finish().undo().finish()
    assert episodes(twice) == []
    s = Session().prompt("speed up the index").commit().undo("made it slower").finish()
    s.prompt("that didn't help, it is still slow").finish()
    s.prompt("add a progress bar").commit("c9").finish().prompt("a").finish().prompt("b").finish()
    s.prompt("c").finish()
    [episode] = episodes(s)
    assert episode.status == "resolved"
    assert episode.opening_prompt == "speed up the index"
    loop = Session().prompt("find the bug").tool("search", {"pattern": "x"}, "no match", n=4).finish()
    assert [e.status for e in episodes(loop)] == ["abandoned"]


def test_judge_can_veto_a_start_and_confirm_an_end() -> None:
    questions: list[str] = []

    def no(question: str) -> str:
        questions.append(question)
        return "No, the user is refining the request."

    s = stuck_start(Session())
    s.prompt("handle the comma in parse_list").commit("c3").feedback("up").finish()
    assert episodes(s, judge=no) == []
    assert "Is the user of a coding agent stuck" in questions[0]

    [episode] = episodes(s, judge=lambda q: "yes")
    assert episode.status == "resolved"
    assert episode.judge == "start: yes; end: yes"
    assert "thumbs-up" in episode.heuristic  # the heuristic's own account is kept beside it


def test_a_failing_judge_leaves_the_heuristics_in_charge() -> None:
    def broken(question: str) -> str:
        raise RuntimeError("provider down")

    s = stuck_start(Session())
    s.prompt("handle the comma").commit("c3").feedback("up").finish()
    [episode] = episodes(s, judge=broken)
    assert episode.status == "resolved"
    assert episode.judge is not None and "error (RuntimeError)" in episode.judge


def test_episode_refs_are_stable_and_distinct() -> None:
    s = stuck_start(Session())
    s.prompt("handle the comma").commit("c3").feedback("up").finish()
    s.prompt("now the lexer drops the last token").commit("c4").undo().finish()
    s.prompt("it still drops the last token").finish()
    first, again = episodes(s), episodes(s)
    assert [e.ref for e in first] == [e.ref for e in again]
    assert len(first) == 2 and first[0].ref != first[1].ref
    assert [e.status for e in first] == ["resolved", "abandoned"]


def test_find_insights_a_check_failed_then_passed_in_one_run() -> None:
    s = Session().prompt("make the linter happy")
    s.check(False, "E402 module level import not at top", check="lint")
    s._add(ModelResponse(run_id=s.run_id, turn=2, model="m", stop_reason="tool_use", text="Moving the import up.",
                         tool_calls=1, usage={}, cost_usd=0.0, duration_ms=1.0))
    s._add(FileChanged(run_id=s.run_id, turn=2, path="src/a.py", action="modified"))
    s.commit("c7", files=("src/a.py",))
    s.check(True, check="lint").finish()
    s.prompt("add a feature").check(True).finish()  # passing alone is not an insight
    [insight] = find_insights(s.events)
    assert insight.failure_signature == "E402 module level import not at top"
    assert insight.files == ["src/a.py"]
    assert insight.fix_summary == "agent: edit"
    assert insight.prompt == "make the linter happy"
    assert insight.run_id == "s1-r1"
    assert [i.ref for i in find_insights(s.events)] == [insight.ref]
