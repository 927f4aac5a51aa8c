"""`agent run` through the real provider code paths, against local fake servers."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import git, write_cassette
from tests.fakes import openai_server
from tests.fakes.anthropic_server import (
    Cut, FakeAnthropicServer, Status, by_model, main_requests, message, text_block, tool_use_block,
)


@pytest.fixture
def anthropic_env(monkeypatch):
    def use(server: FakeAnthropicServer) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)

    return use


def edit_turn() -> dict:
    return message([text_block("Bump the helper."),
                    tool_use_block("toolu_1", "edit_file", {"path": "util.py", "old_string": "return 1",
                                                            "new_string": "return 2"})])


def test_anthropic_stream_cut_midway_is_retried_without_running_a_tool_twice(cli, repo, tmp_path, anthropic_env):
    script = [Cut(edit_turn()), edit_turn(), message("Bumped.")]
    with FakeAnthropicServer([], fallback=by_model(script)) as server:
        anthropic_env(server)
        result = cli("run", "--db", str(tmp_path / "db"), "-o", "stream-json", "bump it", cwd=repo)
        assert len(main_requests(server)) == 3
        first = main_requests(server)[0].body
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["name"] for e in events if e["type"] == "tool_call"] == ["edit_file"]
    assert sum(1 for e in events if e["type"] == "commit") == 1
    log = git(repo, "log", "--format=%s").splitlines()
    assert log.count("agent: bump the helper") == 1
    assert (repo / "util.py").read_text() == "def helper():\n    return 2\n"
    # the stable prefix is marked for prompt caching
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["stream"] is True


def test_anthropic_429_then_success(cli, repo, tmp_path, anthropic_env):
    with FakeAnthropicServer([], fallback=by_model([Status(429), message("All good.")])) as server:
        anthropic_env(server)
        result = cli("run", "--db", str(tmp_path / "db"), "hi", cwd=repo)
        assert len(main_requests(server)) == 2
    assert result.code == 0 and result.stdout.strip() == "All good."


def test_anthropic_persistent_529_exits_3_with_a_clear_message(cli, repo, tmp_path, anthropic_env):
    with FakeAnthropicServer([], fallback=Status(529)) as server:
        anthropic_env(server)
        result = cli("run", "--db", str(tmp_path / "db"), "hi", cwd=repo)
        requests = len(server.message_requests)
    assert result.code == 3
    assert "overloaded" in result.stderr.lower() and "Traceback" not in result.stderr
    assert 1 < requests <= 10
    db = sqlite3.connect(tmp_path / "db")
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "error"
    db.close()


def test_refused_key_exits_3_and_names_the_variable(cli, repo, tmp_path, anthropic_env):
    with FakeAnthropicServer([], fallback=by_model([Status(401)])) as server:
        anthropic_env(server)
        result = cli("run", "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 3 and "ANTHROPIC_API_KEY" in result.stderr


def test_continue_shows_the_model_the_earlier_turns(cli, repo, tmp_path, anthropic_env):
    with FakeAnthropicServer([], fallback=by_model([message("First answer."), message("Second answer.")])) as server:
        anthropic_env(server)
        db = str(tmp_path / "db")
        first = cli("run", "--db", db, "-o", "json", "first question", cwd=repo)
        second = cli("run", "--db", db, "-o", "json", "--continue", "second question", cwd=repo)
        sent = main_requests(server)[1].body["messages"]
    assert first.code == 0 and second.code == 0
    assert first.json()["session_id"] == second.json()["session_id"]
    texts = [(m["role"], b.get("text")) for m in sent for b in m["content"]]
    assert texts == [("user", "first question"), ("assistant", "First answer."), ("user", "second question")]
    listed = cli("sessions", "--db", db, "--json", cwd=repo).json()
    assert len(listed) == 1 and listed[0]["runs"] == 2
    fresh = cli("run", "--db", db, "-o", "json", "unrelated", cwd=repo)  # script exhausted -> 400
    assert fresh.code == 3


def test_record_then_replay_gives_the_same_run(cli, repo, tmp_path, anthropic_env):
    cassette = tmp_path / "rec.json"
    with FakeAnthropicServer([], fallback=by_model([edit_turn(), message("Bumped.")])) as server:
        anthropic_env(server)
        live = cli("run", "--db", str(tmp_path / "db"), "--record", str(cassette), "-o", "json", "bump", cwd=repo)
    assert live.code == 0
    recorded = json.loads(cassette.read_text())
    assert recorded["version"] == 1 and len(recorded["responses"]) == 2
    assert recorded["responses"][0]["content"][1]["input"]["path"] == "util.py"
    assert "sk-ant-test" not in cassette.read_text()
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    replayed = cli("run", "--db", str(tmp_path / "db"), "--replay", str(cassette), "-o", "json", "bump", cwd=repo)
    assert replayed.code == 0
    assert replayed.json()["files_changed"] == live.json()["files_changed"] == ["util.py"]
    assert replayed.json()["result"].startswith("Bumped.") and replayed.json()["result"] == live.json()["result"]


def test_openai_compatible_server_drives_the_loop(cli, repo, tmp_path):
    call = openai_server.tool_call("edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 7"})
    script = [openai_server.completion("Changing the helper.", tool_calls=[call]),
              openai_server.completion("Done: helper returns 7.")]
    with openai_server.FakeOpenAIServer(script) as server:
        result = cli("run", "--provider", "openai", "--base-url", server.base_url, "-m", "qwen2.5-coder",
                     "--db", str(tmp_path / "db"), "-o", "json", "make it 7", cwd=repo)
        # The lean prompt offers no tools, but a structured call to one still lands.
        assert "tools" not in server.requests[0].body
        second = server.requests[1].body
        # a local server's one model is not asked to route too (it would evict its prompt cache)
        assert len(server.requests) == 2
    assert result.code == 0, result.stderr
    assert result.json()["result"].startswith("Done: helper returns 7.")
    assert (repo / "util.py").read_text() == "def helper():\n    return 7\n"
    assert git(repo, "log", "-1", "--format=%s").strip() == "agent: changing the helper"
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1 and "util.py" in tool_messages[0]["content"]


def test_openai_provider_needs_a_base_url(cli, repo, tmp_path):
    result = cli("run", "--provider", "openai", "-m", "qwen", "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 2 and "--base-url" in result.stderr
    no_model = cli("run", "--provider", "openai", "--base-url", "http://127.0.0.1:9/v1", "--db",
                   str(tmp_path / "db"), "hi", cwd=repo)
    assert no_model.code == 2 and "model name" in no_model.stderr and "-m" in no_model.stderr


def test_unreadable_cassette_is_a_clear_error(cli, repo, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("run", "--replay", str(bad), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 3 and "not valid JSON" in result.stderr
    missing = cli("run", "--replay", str(tmp_path / "nope.json"), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert missing.code == 3 and "cassette not found" in missing.stderr
    write_cassette(bad, [])
    empty = cli("run", "--replay", str(bad), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert empty.code == 3 and "has 0 responses" in empty.stderr
