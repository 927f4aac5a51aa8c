"""Slash commands (parsing, completion in the input), the Learned tab, records, and `agent` without a TTY."""

from __future__ import annotations

import pytest

from once.errors import UsageError
from once.events import ContextLoaded, KnowledgeExposure, RunStarted
from once.tui import records
from once.tui.app import OnceApp
from once.tui.commands import COMMANDS, complete, help_text, parse_slash
from once.tui.widgets.learned import LearnedPanel, describe_learned
from once.tui.widgets.completion_menu import CompletionMenu
from once.tui.widgets.prompt_input import PromptInput
from tests.conftest import run_agent_subprocess
from tests.fakes.anthropic_server import message
from tests.test_tui import backend_for, submit

SKILLS = ["release-notes", "refactor"]


def test_parse_slash_tells_commands_skills_unknown_and_prompts_apart():
    assert parse_slash("/bad it ignored the tests", SKILLS) == parse_slash("  /bad it ignored the tests ", SKILLS)
    bad = parse_slash("/bad it ignored the tests", SKILLS)
    assert (bad.kind, bad.name, bad.arg) == ("command", "bad", "it ignored the tests")
    skill = parse_slash("/refactor split cli.py", SKILLS)
    assert (skill.kind, skill.name, skill.arg) == ("skill", "refactor", "split cli.py")
    assert parse_slash("/nope", SKILLS).kind == "unknown"
    assert parse_slash("fix /tmp handling", SKILLS) is None
    assert parse_slash("/usr/bin is slow", SKILLS) is None  # a path, not a command
    assert parse_slash("/", SKILLS) is None


def test_completion_offers_commands_then_skills():
    assert complete("/un", SKILLS) == "/undo"
    assert complete("/ref", SKILLS) == "/refactor"
    assert complete("/re", SKILLS) == "/refactor"  # alphabetical among skills
    assert complete("/rel", SKILLS) == "/release-notes"
    assert complete("/undo", SKILLS) is None  # already complete
    assert complete("/bad x", SKILLS) is None and complete("un", SKILLS) is None
    text = help_text(SKILLS)
    assert all(f"/{name}" in text for name in COMMANDS) and "/refactor" in text


def test_learned_lines_for_context_and_knowledge():
    loaded = ContextLoaded(run_id="r", kind="skill", path=".once/skills/refactor/SKILL.md", chars=1200)
    assert describe_learned(loaded) == "skill: .once/skills/refactor/SKILL.md · 1,200 chars"
    held = KnowledgeExposure(run_id="r", entry_id="k1", title="pytest needs -p no:cacheprovider", arm="holdout",
                             score=0.5, status="probation")
    assert describe_learned(held).startswith("knowledge held out: pytest needs")
    injected = KnowledgeExposure(run_id="r", entry_id="k2", title="x", arm="injected", score=1, status="active")
    assert describe_learned(injected).startswith("knowledge injected: x")


def test_records_refuse_bad_input():
    with pytest.raises(ValueError):
        records.feedback("r", "meh", "", "m")
    with pytest.raises(UsageError, match="needs text"):
        records.note("r", "   ")


def test_agent_without_a_tty_explains_shows_help_and_exits_2(tmp_path):
    done = run_agent_subprocess(cwd=tmp_path)
    assert done.returncode == 2
    assert "needs a terminal" in done.stderr and "agent run" in done.stderr
    assert "Usage: agent" in done.stdout and "Commands:" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_input_suggests_slash_commands_and_skills(repo, tmp_path, anyio_backend):
    skill = repo / ".once" / "skills" / "tidy-imports"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: tidy-imports\ndescription: Sort imports.\n---\nSort them.\n")
    app = OnceApp(backend_for(repo, tmp_path, [message("sorted")]))
    async with app.run_test(size=(120, 40)) as pilot:
        field = app.query_one(PromptInput)
        menu = app.query_one(CompletionMenu)
        await pilot.press("/", "u", "n")
        await pilot.pause()
        assert menu.display and [e.label for e in menu.entries] == ["/undo"]
        assert "asks first" in menu.entries[0].about  # the menu says what a command does
        await pilot.press("tab")  # picks it
        assert field.value == "/undo " and not menu.is_open
        field.value = ""
        await pilot.press("/", "s", "e")
        await pilot.pause()
        assert [e.label for e in menu.entries] == ["/sessions", "/secrets-and-config"]  # commands, then skills
        await pilot.press("down", "down", "enter")  # round to the first again; enter on the menu picks, not sends
        assert field.value == "/sessions " and app.finished == []
        field.value = ""
        await pilot.press("/", "t", "i")
        await pilot.pause()
        assert [(e.label, e.about) for e in menu.entries] == [("/tidy-imports", "skill")]
        await pilot.press("escape")  # closes the menu, keeps the text
        assert not menu.is_open and field.value == "/ti"
        field.value = ""
        await submit(pilot, "/tidy-imports please")  # a skill is a prompt for the run
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [ended.prompt for ended in app.finished] == ["/tidy-imports please"]
        assert any("tidy-imports" in line for line in app.query_one(LearnedPanel).lines())


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_learned_tab_shows_what_a_run_loaded(repo, tmp_path, anyio_backend):
    (repo / "AGENTS.md").write_text("# Rules\nRun the tests.\n")
    app = OnceApp(backend_for(repo, tmp_path, [message("ok")]))
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "hello")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("AGENTS.md" in line for line in app.query_one(LearnedPanel).lines())
        panel = app.query_one(LearnedPanel)
        panel.add_event(RunStarted(run_id="r2", session_id="s", repo="x", prompt="p", mode="agent",
                                   provider="replay", model="m"))
        await pilot.pause()
        assert panel.lines() == []  # a new turn shows only what it loads


def test_details_lines_for_vents_and_learned_entries():
    from once.events import KnowledgeExposure, VentFiled
    from once.tui.widgets.details import describe

    vent = VentFiled(run_id="r-1", category="unclear_tool", message="edit_file's old_string rules are unclear")
    refused = VentFiled(run_id="r-1", category="other", message="again", filed=False)
    held = KnowledgeExposure(run_id="r-1", entry_id="k-1", title="pytest needs -p no:cacheprovider here",
                             arm="holdout", score=0.7, status="probation")
    assert describe(vent) == "! vent unclear_tool filed: edit_file's old_string rules are unclear"
    assert describe(refused) == "! vent other not filed (rate limit): again"
    assert describe(held) == "  learned entry holdout: pytest needs -p no:cacheprovider here"
