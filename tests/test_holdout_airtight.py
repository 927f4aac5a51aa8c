"""The holdout is airtight: a held-out entry reaches the model by no path, not even through its
exported markdown committed in the repository (`.once/knowledge/`), whatever tools the model
calls to look for it. Real run, real index, real tools; the model is a local fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from once.agent.runner import RunRequest, run_once
from once.config import load_settings
from once.learn import inject
from once.learn.bank import Bank, KnowledgeEntry
from once.learn.markdown_io import export_entries
from once.providers.openai import OpenAIProvider
from once.store import Store
from once.vcs import GitRepo
from tests.conftest import git, make_repo
from tests.fakes.openai_server import FakeOpenAIServer, completion, tool_call

LESSON = "Install the package editable with pip install -e . before running pytest"
PROMPT = "pytest fails with No module named app"


def _run(repo: Path, db: Path, script: list[Any], prompt: str = PROMPT) -> tuple[Any, FakeOpenAIServer]:
    with FakeOpenAIServer(script) as server:
        provider = OpenAIProvider(server.base_url, retry_backoff=0, max_retries=0)
        settings = load_settings(repo, env={}, flags={"provider": "openai", "model": "m", "small_model": "m",
                                                       "edit_format": "tools", "prompt_style": "full",
                                                       "max_turns": 4, "attempts": 1})
        with Store(db) as store:
            result = run_once(RunRequest(prompt=prompt, sinks=[]), repo=GitRepo.open(repo), settings=settings,
                              provider=provider, store=store)
    return result, server


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path, str]:
    """A repository whose learned entry is exported and committed, as a team shares them."""
    repo = make_repo(tmp_path / "repo", {"app/__init__.py": "", "tests/test_app.py": "import app\n",
                                         "README.md": "# app\n"})
    db = tmp_path / "once.db"
    with Store(db) as store:
        bank = Bank(store.conn)
        entry_id = bank.add(KnowledgeEntry(
            title="pytest cannot import the package", status="active", repo=str(repo.resolve()),
            description="ModuleNotFoundError: No module named 'app' when running pytest", knowledge=LESSON))
        [entry] = [e for e in bank.list(repo=str(repo.resolve())) if e.id == entry_id]
    written = export_entries([entry], repo / ".once" / "knowledge")
    assert written and LESSON in written[0].read_text()
    (repo / ".once" / "plan.md").write_text(f"# Plan\n1. {LESSON}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "share learned entries")
    return repo, db, written[0].relative_to(repo).as_posix()


def _looks_everywhere(exported_file: str) -> list[Any]:
    return [
        completion(None, [tool_call("list_files", {}, id="c1"),
                          tool_call("list_files", {"path": ".once"}, id="c2"),
                          tool_call("search", {"pattern": "editable"}, id="c3"),
                          tool_call("search", {"pattern": "pip install", "path": ".once"}, id="c4"),
                          tool_call("read_file", {"path": exported_file}, id="c5"),
                          tool_call("read_file", {"path": ".once/plan.md"}, id="c6")]),
        completion("I looked around."),
    ]


def test_a_held_out_entry_reaches_the_model_by_no_path(exported, monkeypatch) -> None:
    repo, db, exported_file = exported
    monkeypatch.setattr(inject, "draw_unit", lambda salt, entry, session: 0.0)  # the draw holds it out
    result, server = _run(repo, db, _looks_everywhere(exported_file))
    assert len(server.requests) == 2, "the model's tool calls were answered"
    sent = json.dumps([request.body for request in server.requests])
    assert "pip install -e" not in sent and "install the package editable" not in sent.lower()
    assert "once's own records" in sent  # the refused reads say why
    with Store(db) as store:
        arms = [row[0] for row in store.conn.execute("SELECT arm FROM exposures")]
    assert arms == ["holdout"], "the entry was retrieved and held out, not simply missed"


def test_injected_entries_still_arrive_and_a_named_record_can_be_read(exported, monkeypatch) -> None:
    repo, db, exported_file = exported
    monkeypatch.setattr(inject, "draw_unit", lambda salt, entry, session: 0.99)
    _, server = _run(repo, db, [completion("ok")])
    assert LESSON in json.dumps(server.requests[0].body)
    # The user names the file: then the agent reads it, as asked.
    monkeypatch.setattr(inject, "draw_unit", lambda salt, entry, session: 0.0)
    script = [completion(None, [tool_call("read_file", {"path": ".once/plan.md"}, id="c1")]), completion("read")]
    _, named = _run(repo, db, script, prompt="follow the steps in .once/plan.md")
    assert LESSON in json.dumps(named.requests[1].body)
