"""App flows on past work, driven with Pilot from replay cassettes: commit -> diff -> undo, ratings and
notes stored, the mode key, slash commands, cancellation recorded, provider errors as notices."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.errors import ProviderError
from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.providers.replay import ReplayProvider
from once.store import open_store
from once.tui.app import OnceApp
from once.tui.widgets.approval import ApprovalPrompt
from once.tui.widgets.commit_view import CommitScreen
from once.tui.widgets.conversation import Notice
from once.tui.widgets.details import CommitLine, DetailsPanel
from once.tui.widgets.dialogs import ConfirmScreen
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.status_bar import StatusBar
from tests.conftest import git as _git
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_tui import (EDIT, answers, backend_for, settle, shown, submit, wait_for_approval,
                             wait_for_screen)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def git(repo: Path, *args: str) -> str:
    return _git(repo, *args).strip()


def notices(app: OnceApp) -> list[str]:
    return [str(n.content) for n in app.query(Notice)]


def stored_events(db: Path, run_id: str, kind: str) -> list[dict]:
    with open_store(str(db)) as store:
        return [e for e in store.run_events(run_id) if e["type"] == kind]


async def test_commit_shows_in_details_opens_as_a_diff_and_undo_restores_the_file(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [message([EDIT]), message("Changed helper to return 2.")])
    backend.permission_mode = "auto-edit"
    app = OnceApp(backend)
    head = git(repo, "rev-parse", "HEAD")
    async with app.run_test(size=(140, 45)) as pilot:
        await submit(pilot, "make helper return 2")
        await settle(pilot)
        assert "Changed helper" in answers(app)
        assert "return 2" in (repo / "util.py").read_text()
        line = app.query_one(CommitLine)
        assert line.sha == git(repo, "rev-parse", "HEAD") != head
        await pilot.click(CommitLine)
        await wait_for_screen(pilot, CommitScreen)
        assert "+    return 2" in app.screen.diff and "-    return 1" in app.screen.diff
        await pilot.press("escape")
        await pilot.pause()
        await submit(pilot, "/undo")
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.click("#yes")
        await pilot.pause()
        assert git(repo, "rev-parse", "HEAD") == head
        assert "return 1" in (repo / "util.py").read_text()
        assert any(n.startswith("undo: removed") for n in notices(app))
        undone = stored_events(tmp_path / "db", app.run_id, "undo")
        assert undone and undone[0]["shas"] == [line.sha]


async def test_undo_asks_first_and_no_keeps_the_commit(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [message([EDIT]), message("done")])
    backend.permission_mode = "auto-edit"
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        await settle(pilot)
        head = git(repo, "rev-parse", "HEAD")
        await pilot.press("ctrl+z")
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert git(repo, "rev-parse", "HEAD") == head and "return 2" in (repo / "util.py").read_text()


async def test_good_bad_and_note_are_stored_on_the_last_run(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message("an answer")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/good")
        assert any("no response to rate" in n for n in notices(app))  # nothing to rate yet
        await submit(pilot, "explain util.py")
        await settle(pilot)
        await submit(pilot, "/good")
        await submit(pilot, "/bad it ignored the tests")
        await pilot.press("ctrl+g")
        await submit(pilot, "/note always run pytest -q before answering")
        await submit(pilot, "/note")
        await pilot.pause()
        ratings = stored_events(tmp_path / "db", app.run_id, "feedback")
        assert [(r["rating"], r["comment"]) for r in ratings] == [
            ("up", ""), ("down", "it ignored the tests"), ("up", "")]
        assert all(r["model"] == app.backend.settings.model for r in ratings)
        notes = stored_events(tmp_path / "db", app.run_id, "note")
        assert [n["text"] for n in notes] == ["always run pytest -q before answering"]
        assert any("a note needs text" in n for n in notices(app))


async def test_the_mode_key_switches_plan_and_agent(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one(StatusBar).status
        assert app.backend.mode == "agent" and status.mode.startswith("Agent")
        seen = []
        for _ in range(4):  # ask -> auto-edit -> Plan -> ask again; full-auto only when started with it
            await pilot.press("shift+tab")
            seen.append(status.mode)
        assert seen == ["Agent (auto-edit)", "Plan", "Agent (ask)", "Agent (auto-edit)"]
        assert app.backend.mode == "agent" and app.backend.permission_mode == "auto-edit"
        await pilot.press("shift+tab")
        assert "Plan" in str(app.query_one(StatusBar).content)
        await pilot.press("shift+tab")
        assert app.backend.mode == "agent"
        await submit(pilot, "/plan")
        assert app.backend.mode == "plan"
        await submit(pilot, "/agent")
        assert app.backend.mode == "agent"


async def test_unknown_slash_command_and_info_commands_are_notices(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/frobnicate now")
        assert any(n.startswith("unknown command /frobnicate") for n in notices(app))
        assert not app.running and app.finished == []  # nothing was sent to the model
        await submit(pilot, "/help")
        assert any("/undo" in n and "/note" in n for n in notices(app))
        await submit(pilot, "/model claude-test-model")
        assert app.backend.settings.model == "claude-test-model"
        assert app.query_one(StatusBar).status.model == "claude-test-model"
        await submit(pilot, "/cost")
        assert any(n.startswith("this session: 0 tokens") for n in notices(app))


async def test_escape_mid_turn_records_cancelled_and_leaves_no_half_edit(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("never reached")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        await wait_for_approval(pilot)
        app.queue.add("queued after")  # a queued prompt survives the cancel untouched
        app.action_cancel_run()
        await settle(pilot)
        assert "return 1" in (repo / "util.py").read_text()
        assert git(repo, "status", "--porcelain") == ""  # no half-applied edit on disk
        assert app.finished[-1].result.status == "interrupted"
        assert [i.text for i in app.queue.items(include_finished=False)] == ["queued after"] and not app.running
        cancelled = stored_events(tmp_path / "db", app.run_id, "cancelled")
        assert [c["reason"] for c in cancelled] == ["user"]
        assert any(line.startswith("! cancelled by the user") for line in app.query_one(DetailsPanel).lines())


class FailingOnce(ReplayProvider):
    """The first call fails like an overloaded API; the next ones replay the cassette."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.failed = False

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        if not self.failed:
            self.failed = True
            raise ProviderError("The Anthropic API is overloaded right now. Retry later.",
                                hint="Wait a minute and send the prompt again.")
        return super().complete(request, on_text)


async def test_a_provider_error_is_a_notice_and_the_session_stays_usable(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [])
    backend.provider = FailingOnce(write_cassette(tmp_path / "f.json", [message("second try works")]))
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "hello")
        await settle(pilot)
        shown = "\n".join(notices(app))
        assert "model provider error: The Anthropic API is overloaded" in shown
        assert shown.count("The Anthropic API is overloaded") == 1  # said once, with what to do
        assert "Wait a minute" in shown and "still open" in shown
        assert not app.running and app.query_one(StatusBar).status.state == "idle"
        await submit(pilot, "hello again")
        await settle(pilot)
        assert "second try works" in answers(app)


async def test_no_api_key_is_a_notice_not_a_crash(repo, tmp_path, monkeypatch):
    from once.tui.backend import build_backend

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    app = OnceApp(build_backend(repo, db=tmp_path / "db", provider="anthropic"))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "hello")
        await settle(pilot)
        assert any("ANTHROPIC_API_KEY" in n for n in notices(app))
        assert not app.running


async def test_an_approval_shows_the_command_and_records_a_typed_rejection_reason(repo, tmp_path):
    run = tool_use_block("c1", "run_command", {"command": "python -c 'print(42)'"})
    app = OnceApp(backend_for(repo, tmp_path, [message([run]), message("ok")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "print 42")
        approval = await wait_for_approval(pilot)
        text = "\n".join(shown(approval))
        assert "$ python -c 'print(42)'" in text and "no policy.allow rule matches it" in text
        assert "The command was not run" not in text  # what the model would be told, not the question asked
        assert "allow for this session: exactly `python -c 'print(42)'`, until you quit the app" in text
        assert app.query_one(StatusBar).status.state == "running"  # the UI answers while the run waits
        await pilot.press("n")
        assert approval.asking_reason and approval.pending
        await pilot.press(*"not yet, ask me")  # letters of the reason are text, not y/a/n
        assert approval.pending
        await pilot.press("enter")
        await settle(pilot)
        assert approval.said == "✗ rejected: not yet, ask me"
        assert shown(approval) == ["✗ rejected: not yet, ask me"]
        decisions = stored_events(tmp_path / "db", app.run_id, "permission")
        assert [(d["decision"], d["reason"]) for d in decisions] == [("reject", "not yet, ask me")]
        assert app.focused is app.query_one(PromptInput) and app.finished[-1].result.status == "done"


async def test_escape_in_the_reason_rejects_without_one_and_the_run_goes_on(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("fine, leaving it")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        await pilot.press("n", "x", "escape")
        await settle(pilot)
        assert approval.said == "✗ rejected (no reason given)"
        decisions = stored_events(tmp_path / "db", app.run_id, "permission")
        assert [(d["decision"], d["reason"]) for d in decisions] == [("reject", "")]
        assert "fine, leaving it" in answers(app)  # the run went on to the model: esc here did not cancel it
        assert stored_events(tmp_path / "db", app.run_id, "cancelled") == []
        assert "return 1" in (repo / "util.py").read_text()


async def test_ratings_notes_and_cancellations_show_in_agent_log(repo, tmp_path, cli):
    backend = backend_for(repo, tmp_path, [message("first answer")])
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "explain util.py")
        await settle(pilot)
        await submit(pilot, "/bad too vague about the helper")
        await submit(pilot, "/note always name the function you mean")
        await pilot.pause()
        run_id = app.run_id
    result = cli("log", run_id, "--db", str(tmp_path / "db"), cwd=repo)
    assert result.code == 0, result.stderr
    assert "rated  👎 down: too vague about the helper" in result.stdout
    assert "note   always name the function you mean" in result.stdout


async def test_allow_always_on_an_edit_lasts_for_the_app_session_until_the_mode_changes(repo, tmp_path):
    again = tool_use_block("e2", "edit_file", {"path": "util.py", "old_string": "return 2", "new_string": "return 3"})
    third = tool_use_block("e3", "edit_file", {"path": "util.py", "old_string": "return 3", "new_string": "return 4"})
    responses = [message([EDIT]), message("two"), message([again]), message("three"), message([third]),
                 message("four")]
    app = OnceApp(backend_for(repo, tmp_path, responses))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        approval = await wait_for_approval(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert approval.said == ("✓ allowed for this session: edits to any file in this repository, "
                                 "until you quit the app or change the mode")
        await submit(pilot, "now return 3")  # the next prompt, a new run: it does not ask again
        await settle(pilot)
        assert len(app.query(ApprovalPrompt)) == 1
        assert "return 3" in (repo / "util.py").read_text()
        app.set_mode("agent")  # a mode change: edits ask again
        await submit(pilot, "now return 4")
        await wait_for_approval(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "return 4" in (repo / "util.py").read_text()


async def test_allow_always_on_a_command_covers_exactly_its_rules_until_forgotten():
    from once.agent.approvals import Answer, ApprovalRequest, Decision
    from once.tui.allowances import REMEMBERED, Allowances

    asked: list[str] = []

    def person(request: ApprovalRequest) -> Answer:
        asked.append(request.subject)
        return Answer(Decision.allow_always)

    allowances = Allowances()
    approve = allowances.wrap(person)
    make = ApprovalRequest("command", "make test", "why", ("make test",))
    approve(make)
    assert approve(make) == Answer(Decision.allow_always, REMEMBERED) and asked == ["make test"]
    approve(ApprovalRequest("command", "make lint", "why", ("make lint",)))
    assert asked == ["make test", "make lint"]  # another command still asks
    allowances.forget()
    approve(make)
    assert asked == ["make test", "make lint", "make test"]


def test_allow_always_in_the_app_never_answers_for_a_part_that_asks_each_time(tmp_path):
    """Through the real gate, one per run as the app makes them: `make test && sudo ls` allowed
    always remembers `make test` only; the same line in the next run asks again for `sudo ls`."""
    from once.agent.approvals import Answer, Decision
    from once.agent.permissions import PermissionGate
    from once.agent.recorder import Recorder
    from once.safety.policy import Policy
    from once.tui.allowances import Allowances, scope_of

    class NoIgnores:
        def ignored_paths(self, paths):
            return []

    asked = []

    def person(request):
        asked.append(request)
        return Answer(Decision.allow_always)

    allowances = Allowances()

    def run_gate() -> PermissionGate:
        return PermissionGate("ask", Policy(), allowances.wrap(person), tmp_path, NoIgnores(),
                              Recorder(session_id="s", run_id="r", store=None, sinks=[]))

    line = "make test && sudo ls"
    assert run_gate().check_command(line) is None
    assert asked[0].rules == ("make test",) and asked[0].asks_each_time
    assert "still asks each time" in scope_of(asked[0])
    assert run_gate().check_command(line) is None and len(asked) == 2  # asked again, for sudo
    assert run_gate().check_command("make test") is None and len(asked) == 2  # the remembered rule


async def test_a_tool_duration_leaves_out_the_wait_for_approval(repo, tmp_path):
    import asyncio

    from once.tui.widgets.conversation import ToolLine

    app = OnceApp(backend_for(repo, tmp_path, [message([EDIT]), message("done")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "make helper return 2")
        await wait_for_approval(pilot)
        await asyncio.sleep(1.5)  # the person reads the diff
        await pilot.press("y")
        await settle(pilot)
        took = app.query_one(ToolLine).result.duration_ms
        assert "return 2" in (repo / "util.py").read_text()
        assert took < 1000, f"{took:.0f} ms includes the wait for approval"


async def test_a_run_that_stops_early_says_why_in_words(repo, tmp_path):
    from once.tui.widgets.details import DetailsPanel

    read = tool_use_block("r1", "read_file", {"path": "util.py"})
    backend = backend_for(repo, tmp_path, [message([read]), message("never reached")])
    backend.settings.max_turns = 1
    app = OnceApp(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "look at util.py")
        await settle(pilot)
        assert app.finished[-1].result.status == "max_turns"
        assert "run ended: turn limit reached" in notices(app)
        finished = [line for line in app.query_one(DetailsPanel).lines() if line.startswith("run turn limit")]
        assert finished and " · 1 turn · " in finished[0]
        assert not any("max_turns" in text or "1 turns" in text
                       for text in notices(app) + app.query_one(DetailsPanel).lines())
