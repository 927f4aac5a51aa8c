"""`agent memory show|history|revert`, and memory.md reaching the model in a replayed run."""

from __future__ import annotations

import json

from once.events import CorrectionNote
from once.providers.replay import ReplayProvider
from once.store.store import Store
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message


def run(cli, repo, tmp_path, output: str = "json"):
    cassette = write_cassette(tmp_path / "c.json", [message("Done.")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", output, "go", cwd=repo)
    assert result.code == 0, result.stderr
    return result


def note(tmp_path, run_id: str, text: str) -> None:
    with Store(tmp_path / "db") as store:
        store.append_event(CorrectionNote(run_id=run_id, text=text))


def test_memory_reaches_the_model_context(cli, repo, tmp_path, monkeypatch):
    first = run(cli, repo, tmp_path).json()
    note(tmp_path, first["run_id"], "Always answer in French")
    assert cli("proposals", "scan", "--db", str(tmp_path / "db"), cwd=repo).code == 0
    systems: list[str] = []
    original = ReplayProvider.complete

    def spy(self, request, on_text=None):
        systems.append(request.system)
        return original(self, request, on_text)

    monkeypatch.setattr(ReplayProvider, "complete", spy)
    result = run(cli, repo, tmp_path, "stream-json")
    assert "Always answer in French" in systems[0] and "Project memory" in systems[0]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["path"] for e in events if e["type"] == "context_loaded" and e["kind"] == "memory"] == [".once/memory.md"]


def test_show_history_and_revert(cli, repo, tmp_path):
    first = run(cli, repo, tmp_path).json()
    db = str(tmp_path / "db")
    assert "is empty" in cli("memory", "show", cwd=repo).stdout
    note(tmp_path, first["run_id"], "Always use tabs for indentation")
    cli("proposals", "scan", "--db", db, cwd=repo)
    note(tmp_path, first["run_id"], "Never use tabs for indentation")
    cli("proposals", "scan", "--db", db, cwd=repo)
    shown = cli("memory", "show", cwd=repo)
    assert "- Never use tabs" in shown.stdout and "Always use tabs" not in shown.stdout
    changes = cli("memory", "history", "--json", "--db", db, cwd=repo).json()
    assert [c["action"] for c in changes] == ["apply", "apply"] and changes[0]["supersedes"] == changes[1]["proposal_id"]
    text = cli("memory", "history", "--db", db, cwd=repo).stdout
    assert "+- Never use tabs" in text and "-- Always use tabs" in text and "replaced" in text
    reverted = cli("memory", "revert", changes[0]["id"], "-m", "tabs are fine", "--db", db, cwd=repo)
    assert reverted.code == 0, reverted.stderr
    assert "- Always use tabs" in (repo / ".once" / "memory.md").read_text()
    again = cli("memory", "revert", changes[0]["proposal_id"], "--db", db, cwd=repo)
    assert again.code == 2 and "not applied" in again.stderr
    missing = cli("memory", "revert", "mh-nothing", "--db", db, cwd=repo)
    assert missing.code == 2 and "agent memory history" in missing.stderr
