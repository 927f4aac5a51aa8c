"""A small model's failed attempt is undone and the task asked again from the start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from once.agent.attempts import restart_note
from tests.conftest import git, make_repo
from tests.fakes.openai_server import completion
from tests.test_text_edits_run import run_lean

CALC = {"calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"}


def body(n: int) -> str:
    return completion(f"calc.py\n```python\ndef add(a, b):\n    return {n}\n```\n")


RIGHT = completion("calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n")


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_an_attempt_whose_edit_and_fix_fail_is_undone_and_the_task_asked_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", CALC)
    setup = git(repo, "rev-parse", "HEAD").strip()
    result, events, server = run_lean(repo, tmp_path, [body(1), body(2), RIGHT], prompt="Fix add() in calc.py",
                                      edit_format="whole", attempts=3)
    assert result.status == "done" and (repo / "calc.py").read_text().endswith("return a + b\n")
    discarded = [e for e in events if e.type == "attempt_discarded"]
    assert [(e.attempt, e.method, len(e.shas)) for e in discarded] == [(1, "reset", 2)]
    assert "pytest failed" in discarded[0].reason and "assert 2 == 5" in discarded[0].reason
    # History holds the setup and the right edit only; the run's result lists the commit that stands.
    assert git(repo, "rev-list", "--count", f"{setup}..HEAD").strip() == "1"
    assert [c.sha for c in result.commits] == [git(repo, "rev-parse", "HEAD").strip()]
    # The third request starts over: the task again, the failed attempt's conversation gone, sampled.
    third = server.requests[2].body
    users = [m for m in third["messages"] if m["role"] == "user"]
    assert len(users) == 1 and "Fix add() in calc.py" in text_of(users[0])
    assert "An earlier attempt at this task was undone, because the project's checks failed" in text_of(users[0])
    assert "assert 2 == 5" in text_of(users[0]) and "return 2" not in text_of(users[0])
    # The fix request in between was the usual one: the failing check fed back in the conversation.
    assert "assert 1 == 5" in text_of(server.requests[1].body["messages"][-1])
    assert [r.body["temperature"] for r in server.requests] == [0, 0, 0.4]


def test_the_last_attempt_stands_and_the_run_ends_as_before(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", CALC)
    script = [body(n) for n in range(10, 16)] + [completion("I cannot fix it.")] * 3
    result, events, server = run_lean(repo, tmp_path, script, prompt="Fix add() in calc.py",
                                      edit_format="whole", attempts=2, max_turns=12)
    assert len([e for e in events if e.type == "attempt_discarded"]) == 1
    # The last attempt gets the usual loop: its failing check fed back, then fix after fix.
    assert "assert 12 == 5" in text_of(server.requests[3].body["messages"][-1])
    assert result.status == "checks_failed"
    # The second attempt's commits stay, for the user to see and undo.
    assert "return a + b" not in (repo / "calc.py").read_text()
    assert len(result.commits) >= 2 and git(repo, "status", "--porcelain").strip() == ""


def test_the_users_uncommitted_changes_survive_a_discarded_attempt(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {**CALC, "notes.md": "# notes\n"})
    (repo / "calc.py").write_text("# mine\ndef add(a, b):\n    return a - b\n")
    (repo / "notes.md").write_text("# notes\nmy own line\n")
    result, _, _ = run_lean(repo, tmp_path, [completion("calc.py\n```python\n# mine\ndef add(a, b):\n    return 1\n```\n"),
                                             completion("calc.py\n```python\n# mine\ndef add(a, b):\n    return 2\n```\n"),
                                             completion("calc.py\n```python\n# mine\ndef add(a, b):\n"
                                                        "    return a + b\n```\n")],
                            prompt="Fix add() in calc.py", edit_format="whole", attempts=3)
    assert result.status == "done"
    assert (repo / "calc.py").read_text() == "# mine\ndef add(a, b):\n    return a + b\n"
    assert (repo / "notes.md").read_text() == "# notes\nmy own line\n"  # never touched, never committed
    assert "notes.md" in git(repo, "status", "--porcelain")


def test_an_attempt_that_ends_without_the_work_starts_over_too(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", CALC)
    idle = [completion("I fixed add()."), completion("add() is fixed now.")]
    result, events, server = run_lean(repo, tmp_path, [*idle, RIGHT], prompt="Fix add() in calc.py",
                                      edit_format="whole", attempts=2)
    discarded = [e for e in events if e.type == "attempt_discarded"]
    assert len(discarded) == 1 and discarded[0].shas == [] and "ended without the work" in discarded[0].reason
    assert result.status == "done" and (repo / "calc.py").read_text().endswith("return a + b\n")


def test_one_attempt_means_no_starting_over(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", CALC)
    script = [body(n) for n in range(10, 15)]
    result, events, _ = run_lean(repo, tmp_path, script, prompt="Fix add() in calc.py", edit_format="whole",
                                 attempts=1, max_turns=12)
    assert not [e for e in events if e.type == "attempt_discarded"]
    assert result.status == "checks_failed"


def test_the_note_says_why_without_doubling_its_full_stop() -> None:
    assert restart_note("the checks failed.").startswith("An earlier attempt at this task was undone, because "
                                                         "the checks failed.\n")


def test_a_check_that_fails_before_any_edit_without_running_a_test_is_no_reason_to_start_over(
        tmp_path: Path) -> None:
    # pytest missing, a broken setup: no attempt mends it, so the run goes on as one attempt.
    repo = make_repo(tmp_path / "r", CALC)
    broken = 'python -c "import a_module_nobody_has"'
    script = [body(n) for n in range(10, 16)]
    result, events, _ = run_lean(repo, tmp_path, script, prompt="Fix the failing test of add() in calc.py",
                                 edit_format="whole", attempts=3, max_turns=12,
                                 **{"verify.test_command": broken})
    checks = [e for e in events if e.type == "test_result"]
    assert checks[0].turn == 0 and not checks[0].passed  # the baseline, before any edit
    assert not [e for e in events if e.type == "attempt_discarded"]
    assert result.status == "checks_failed"


def test_a_discarded_attempt_shows_in_the_progress_output_and_the_apps_details() -> None:
    import io

    from once.cli.render import ProgressRenderer
    from once.events import AttemptDiscarded
    from once.tui.widgets.details import describe

    event = AttemptDiscarded(run_id="r-1", attempt=1, reason="the project's checks failed after it: pytest\nfailed",
                             shas=["a" * 40, "b" * 40], method="reset")
    out = io.StringIO()
    ProgressRenderer(out)(event)
    assert out.getvalue() == ("  ↺ attempt 1 given up, 2 commits undone: the project's checks failed after it: "
                              "pytest failed; starting over\n")
    assert describe(event) == "↺ " + out.getvalue().strip()[2:]


def test_the_same_reply_sent_again_starts_over_instead_of_ending_the_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", CALC)
    wrong = body(1)
    result, events, server = run_lean(repo, tmp_path, [wrong, wrong, RIGHT], prompt="Fix add() in calc.py",
                                      edit_format="whole", attempts=2)
    discarded = [e for e in events if e.type == "attempt_discarded"]
    assert len(discarded) == 1 and discarded[0].reason.startswith("it sent the same reply again")
    assert "assert 1 == 5" in discarded[0].reason and len(discarded[0].shas) == 1
    assert result.status == "done" and (repo / "calc.py").read_text().endswith("return a + b\n")
    assert [r.body["temperature"] for r in server.requests] == [0, 0, 0.4]
