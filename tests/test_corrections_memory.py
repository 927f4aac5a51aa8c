"""The project memory: pure edits, audited apply and revert, contradictions and conflicts."""

from __future__ import annotations

from once.corrections import actions, memory, repository
from once.corrections.proposals import MEMORY_SECTION
from once.events import CorrectionNote
from tests.corrections_fixtures import add_run, open_test_store


def test_append_creates_the_file_and_the_section_then_adds_in_place():
    text = memory.append_line("", MEMORY_SECTION, "- first")
    assert text.startswith("# Project memory") and text.endswith("## Corrections\n\n- first\n")
    text = text + "\n## Mine\n\nhand-written\n"
    text = memory.append_line(text, MEMORY_SECTION, "- second")
    assert text.index("- first") < text.index("- second") < text.index("## Mine")
    assert memory.section_lines(text, MEMORY_SECTION) == ["- first", "- second"]


def test_plan_apply_dedupes_and_replaces_contradictions():
    text = memory.append_line("", MEMORY_SECTION, "- Always use tabs for indentation")
    same, replaced = memory.plan_apply(text, "- always use tabs for indentation.")
    assert same == text and replaced == "- Always use tabs for indentation"
    after, replaced = memory.plan_apply(text, "- Never use tabs for indentation")
    assert replaced == "- Always use tabs for indentation"
    assert memory.section_lines(after, MEMORY_SECTION) == ["- Never use tabs for indentation"]


def _note(store, repo, text, ts):
    return add_run(store, repo, events=[CorrectionNote(run_id="", text=text, ts=ts)])


def test_latest_correction_wins_and_both_stay_in_history(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    repo = str(root)
    with open_test_store(tmp_path) as store:
        _note(store, repo, "Always use tabs for indentation", 10.0)
        first = actions.scan(store.conn, repo)
        _note(store, repo, "Never use tabs for indentation", 20.0)
        second = actions.scan(store.conn, repo)
        text = (root / ".once" / "memory.md").read_text()
        assert "Never use tabs" in text and "Always use tabs" not in text
        older = repository.get_proposal(store.conn, first.applied[0])
        newer = repository.get_proposal(store.conn, second.applied[0])
        assert (older.status, newer.status, newer.op) == ("superseded", "applied", "replace")
        [conflict] = memory.conflicts(store.conn, repo)
        assert (conflict.older_id, conflict.newer_id) == (older.id, newer.id)
        assert conflict.older_text == "Always use tabs for indentation"
        changes = memory.history(store.conn, repo)
        assert [c.action for c in changes] == ["apply", "apply"] and changes[0].supersedes == older.id
        assert "Always use tabs" in changes[0].before and "Never use tabs" in changes[0].after


def test_revert_restores_what_a_correction_replaced_and_becomes_an_anti_lesson(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    repo = str(root)
    with open_test_store(tmp_path) as store:
        _note(store, repo, "Always use tabs for indentation", 10.0)
        actions.scan(store.conn, repo)
        _note(store, repo, "Never use tabs for indentation", 20.0)
        newer = actions.scan(store.conn, repo).applied[0]
        change = memory.revert_memory(store.conn, root, repo, newer, change_id="mh-r", now=30.0, note="tabs are fine")
        text = (root / ".once" / "memory.md").read_text()
        assert "Always use tabs" in text and "Never use tabs" not in text
        assert change.action == "revert" and change.note == "tabs are fine"
        assert repository.get_proposal(store.conn, newer).status == "rejected"
        statuses = {p.body: p.status for p in repository.list_proposals(store.conn, repo)}
        assert statuses["- Always use tabs for indentation"] == "applied"
        # The same correction said again later is an anti-lesson now: nothing new is proposed.
        _note(store, repo, "never use tabs for indentation!", 40.0)
        again = actions.scan(store.conn, repo)
        assert again.proposed == [] and len(again.skipped["anti-lesson"]) == 1
        assert "Never use tabs" not in (root / ".once" / "memory.md").read_text()


def test_revert_after_later_changes_removes_only_its_line(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    repo = str(root)
    with open_test_store(tmp_path) as store:
        _note(store, repo, "Run ruff before every commit", 10.0)
        _note(store, repo, "The API docs live in docs/api", 11.0)
        first, _ = actions.scan(store.conn, repo).applied
        memory_file = root / ".once" / "memory.md"
        memory_file.write_text(memory_file.read_text() + "\nmy own words\n")
        memory.revert_memory(store.conn, root, repo, first, change_id="mh-x", now=30.0)
        text = memory_file.read_text()
        assert "Run ruff" not in text and "docs/api" in text and "my own words" in text
