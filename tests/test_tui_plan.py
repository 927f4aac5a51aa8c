"""The Plan flow in the app: a plan-mode run fills the Plan tab, the user edits it in the TextArea,
Approve carries it out in Agent mode with step progress; Reject asks why. Both are stored events."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TabbedContent, TextArea

from once.store import open_store
from once.tui.app import OnceApp
from once.tui.messages import AgentEvent
from once.tui.widgets.prompt_input import PromptInput
from once.tui.widgets.dialogs import ReasonScreen
from once.tui.widgets.plan_panel import PlanPanel
from tests.conftest import git
from tests.fakes.anthropic_server import message, tool_use_block
from tests.test_tui import backend_for, settle, submit, wait_for_screen

pytestmark = pytest.mark.anyio

PLAN = """## Overview
Make helper return 2.

## Steps
1. Change util.py so helper returns 2.
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def events_of(db: Path, run_id: str, kind: str) -> list[dict]:
    with open_store(str(db)) as store:
        return [e for e in store.run_events(run_id) if e["type"] == kind]


def carry_out() -> list[dict]:
    """The approved run: step 1 started, the edit, step 1 done, then a closing answer."""
    return [
        message([tool_use_block("p1", "update_plan", {"step": 1, "status": "started"})]),
        message([tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1",
                                                    "new_string": "return 2"})]),
        message([tool_use_block("p2", "update_plan", {"step": 1, "status": "done", "note": "edited"})]),
        message("All steps are done."),
    ]


async def write_plan(pilot, app: OnceApp) -> PlanPanel:
    for _ in range(3):  # shift+tab cycles Plan -> ask -> auto-edit
        if app.backend.mode == "plan":
            break
        await pilot.press("shift+tab")
    assert app.backend.mode == "plan"
    await submit(pilot, "make helper return 2")
    await settle(pilot)
    assert app.query_one(TabbedContent).active == "plan-tab"
    return app.query_one(PlanPanel)


async def test_plan_then_edit_in_the_textarea_then_approve_runs_it_with_step_progress(repo, tmp_path):
    backend = backend_for(repo, tmp_path, [message(PLAN), *carry_out()])
    backend.permission_mode = "auto-edit"
    app = OnceApp(backend)
    async with app.run_test(size=(150, 50)) as pilot:
        panel = await write_plan(pilot, app)
        plan_run = panel.run_id
        assert plan_run and "1. Change util.py" in panel.text
        assert "return 1" in (repo / "util.py").read_text()  # planning changed nothing
        edited = panel.text.replace("## Risks", "## Risks\n\nEdited in the app: keep the docstring.")
        panel.query_one(TextArea).load_text(edited)
        await pilot.click("#plan-approve")
        await settle(pilot)
        assert app.backend.mode == "agent"
        assert app.focused is app.query_one(PromptInput)  # the next prompt typed is not dropped on the button
        await pilot.press("o", "k")
        assert app.query_one(PromptInput).text == "ok"
        app.query_one(PromptInput).value = ""
        assert "Edited in the app" in (repo / ".once" / "plan.md").read_text()  # the edit is what ran
        assert "return 2" in (repo / "util.py").read_text()
        assert app.finished[-1].result.status == "done"
        assert panel.step_lines() == ["✓ 1. Change util.py so helper returns 2. (done)"]
        steps = events_of(tmp_path / "db", app.run_id, "plan_step")
        assert [s["status"] for s in steps] == ["started", "done"]
        decisions = events_of(tmp_path / "db", plan_run, "plan_decision")
        assert [(d["decision"], d["path"]) for d in decisions] == [("approved", ".once/plan.md")]
        assert git(repo, "log", "-1", "--format=%s").startswith("agent:")


async def test_reject_asks_for_a_reason_and_stores_it(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message(PLAN)]))
    async with app.run_test(size=(150, 50)) as pilot:
        panel = await write_plan(pilot, app)
        await pilot.click("#plan-reject")
        await wait_for_screen(pilot, ReasonScreen)
        app.screen.query_one("#reason").value = "touch cli.py instead"
        await pilot.press("enter")
        await pilot.pause()
        decisions = events_of(tmp_path / "db", panel.run_id, "plan_decision")
        assert [(d["decision"], d["reason"]) for d in decisions] == [("rejected", "touch cli.py instead")]
        assert panel.query_one("#plan-approve").disabled  # decided: no approving it afterwards


async def test_approving_a_plan_without_steps_is_refused_with_a_notice(repo, tmp_path):
    app = OnceApp(backend_for(repo, tmp_path, [message(PLAN)]))
    async with app.run_test(size=(150, 50)) as pilot:
        panel = await write_plan(pilot, app)
        panel.query_one(TextArea).load_text("## Overview\nno steps here\n")
        await pilot.click("#plan-approve")
        await pilot.pause()
        assert not app.running and len(app.finished) == 1
        assert events_of(tmp_path / "db", panel.run_id, "plan_decision") == []
        from tests.test_tui_flows import notices

        assert any("no numbered steps" in n for n in notices(app))


async def test_editor_button_saves_the_edits_and_explains_when_there_is_no_terminal(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", "true")
    app = OnceApp(backend_for(repo, tmp_path, [message(PLAN)]))
    async with app.run_test(size=(150, 50)) as pilot:
        panel = await write_plan(pilot, app)
        panel.query_one(TextArea).load_text(panel.text + "\nEdited before opening the editor.\n")
        await pilot.click("#plan-editor")
        await pilot.pause()
        assert "Edited before opening the editor." in (repo / ".once" / "plan.md").read_text()
        from tests.test_tui_flows import notices

        assert any("cannot open $EDITOR here" in n for n in notices(app))  # headless: nothing to suspend
        assert "Edited before" in panel.text


async def test_step_titles_keep_underscores_stars_and_code_and_statuses_read_as_words(repo, tmp_path):
    from once.agent.plan import parse_steps
    from once.events import PlanStep
    from once.tui.widgets.details import DetailsPanel

    plan = "## Steps\n1. Add `test_util.py` for parse_args\n2. **Fix** __init__.py and a*b\n"
    titles = [step.title for step in parse_steps(plan)]
    assert titles == ["Add `test_util.py` for parse_args", "Fix __init__.py and a*b"]
    app = OnceApp(backend_for(repo, tmp_path, []))
    async with app.run_test(size=(150, 50)) as pilot:
        for number, (title, status) in enumerate(zip(titles, ("blocked", "not_done")), start=1):
            app.post_message(AgentEvent(PlanStep(run_id="r", step=number, title=title, status=status)))
        await pilot.pause()
        assert app.query_one(PlanPanel).step_lines() == ["✗ 1. Add `test_util.py` for parse_args (blocked)",
                                                         "· 2. Fix __init__.py and a*b (not done)"]
        assert "  step 2 not done: Fix __init__.py and a*b" in app.query_one(DetailsPanel).lines()
