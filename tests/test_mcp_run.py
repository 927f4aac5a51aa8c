"""MCP servers through `agent run --replay`: a real server (the official SDK) over stdio and
streamable HTTP, its tools called by a replayed model, the permission gate, crashes and size."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w

from once.safety.sandbox import sandbox_state
from tests.conftest import write_cassette
from tests.fakes.anthropic_server import message, tool_use_block
from tests.fakes.mcp_server import LEAKED_KEY

SERVER = str(Path(__file__).parent / "fakes" / "mcp_server.py")


def user_config(home: Path, data: dict) -> None:
    path = home / ".config" / "once" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data))


def stdio_server(**extra) -> dict:
    return {"command": sys.executable, "args": [SERVER, "stdio"], **extra}


def run(cli, repo, tmp_path, responses, *flags):
    cassette = write_cassette(tmp_path / "c.json", responses)
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json", *flags, "go",
                 cwd=repo)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    return result, events


def results(events) -> dict[str, dict]:
    return {e["tool_use_id"]: e for e in events if e["type"] == "tool_result"}


def sent_to_model(tmp_path: Path) -> list[dict]:
    """The tool_result blocks of the conversation as stored: what the model's next request carried."""
    from once.store import Store

    store = Store(tmp_path / "db")
    try:
        session = store.conn.execute("SELECT id FROM sessions").fetchone()[0]
        messages = store.session_messages(session)
    finally:
        store.close()
    return [block for m in messages if isinstance(m["content"], list) for block in m["content"]
            if block.get("type") == "tool_result"]


def test_a_stdio_servers_tool_is_offered_called_and_its_result_reaches_the_model(cli, repo, tmp_path,
                                                                                 isolated_env):
    user_config(isolated_env, {"mcp": {"servers": {"notes": stdio_server()}}})
    call = tool_use_block("t1", "mcp__notes__lookup", {"word": "once"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert result.code == 0, result.stderr
    started = [e for e in events if e["type"] == "mcp_server"]
    assert started[0]["status"] == "started" and started[0]["transport"] == "stdio"
    assert {"mcp__notes__lookup", "mcp__notes__write_note"} <= set(started[0]["tools"])
    outcome = results(events)["t1"]
    assert not outcome["is_error"] and "definition of once" in outcome["output"]
    assert [e["decision"] for e in events if e["type"] == "permission" and e["kind"] == "tool"] == ["allow"]
    sent = sent_to_model(tmp_path)
    assert sent and "definition of once" in str(sent[0]["content"])
    assert not any(e["type"] == "warning" and "MCP" in e["message"] for e in events)
    log = cli("log", events[0]["run_id"], "--db", str(tmp_path / "db"), cwd=repo)
    assert "mcp    notes started (7 tools)" in log.stdout
    assert 'mcp__notes__lookup {"word": "once"}' in log.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_server(tmp_path):
    """The server over streamable HTTP on a free loopback port, stopped afterwards."""
    port = free_port()
    log = open(tmp_path / "http-server.log", "w")
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "http-server.log").read_text()
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_a_streamable_http_server_answers_the_same_way(cli, repo, tmp_path, isolated_env, http_server):
    user_config(isolated_env, {"mcp": {"servers": {"web": {"url": http_server}}}})
    call = tool_use_block("t1", "mcp__web__lookup", {"word": "http"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert result.code == 0, result.stderr
    assert [e["transport"] for e in events if e["type"] == "mcp_server"] == ["http"]
    outcome = results(events)["t1"]
    assert not outcome["is_error"] and "definition of http" in outcome["output"]


def test_a_tool_not_marked_read_only_is_refused_headless_without_a_rule_and_runs_with_one(
        cli, repo, tmp_path, isolated_env, monkeypatch):
    # The server writes where the test can look: outside the repository, in a /tmp that the
    # sandbox would replace with its own. This test is about the gate, not the sandbox.
    monkeypatch.setenv("ONCE_SANDBOX", "off")
    notes = tmp_path / "notes.txt"
    config = {"mcp": {"servers": {"notes": stdio_server(env={"NOTES_FILE": str(notes)})}}}
    user_config(isolated_env, config)
    call = tool_use_block("w1", "mcp__notes__write_note", {"text": "hello"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert result.code == 0
    outcome = results(events)["w1"]
    assert outcome["is_error"] and "policy.allow mcp__notes__write_note" in outcome["output"]
    assert not notes.exists()
    assert ("tool", "reject") in [(e["kind"], e["decision"]) for e in events if e["type"] == "permission"]

    user_config(isolated_env, {**config, "policy": {"allow": ["mcp__notes__*"]}})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert not results(events)["w1"]["is_error"] and notes.read_text() == "hello\n"


def test_plan_mode_offers_only_read_only_tools(cli, repo, tmp_path, isolated_env):
    user_config(isolated_env, {"mcp": {"servers": {"notes": stdio_server()}}})
    call = tool_use_block("w1", "mcp__notes__write_note", {"text": "x"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("plan: nothing")], "--permission-mode", "plan")
    outcome = results(events)["w1"]
    assert outcome["is_error"] and "Unknown tool" in outcome["output"]
    assert "mcp__notes__lookup" in outcome["output"]  # the read-only ones are there


def test_a_server_crashing_mid_call_is_reported_once_and_the_run_goes_on(cli, repo, tmp_path, isolated_env):
    user_config(isolated_env, {"mcp": {"servers": {"notes": stdio_server()}}})
    calls = [tool_use_block("c1", "mcp__notes__crash", {}), tool_use_block("c2", "mcp__notes__lookup", {"word": "x"})]
    edit = tool_use_block("e1", "edit_file", {"path": "util.py", "old_string": "return 1", "new_string": "return 2"})
    started = time.monotonic()
    result, events = run(cli, repo, tmp_path, [message(calls), message([edit]), message("done")])
    assert time.monotonic() - started < 30
    assert result.code == 0, result.stderr
    outcome = results(events)
    assert outcome["c1"]["is_error"] and "no longer running" in outcome["c1"]["output"]
    assert outcome["c2"]["is_error"] and "no longer running" in outcome["c2"]["output"]
    assert not outcome["e1"]["is_error"] and "return 2" in (repo / "util.py").read_text()
    warnings = [e["message"] for e in events if e["type"] == "warning" and "MCP server notes" in e["message"]]
    assert len(warnings) == 1 and "stopped during the run" in warnings[0]
    assert [e["status"] for e in events if e["type"] == "mcp_server"] == ["started", "died"]


def test_five_megabytes_are_cut_and_secrets_redacted(cli, repo, tmp_path, isolated_env):
    user_config(isolated_env, {"mcp": {"servers": {"notes": stdio_server()}}})
    calls = [tool_use_block("b1", "mcp__notes__big", {}), tool_use_block("k1", "mcp__notes__leak", {})]
    result, events = run(cli, repo, tmp_path, [message(calls), message("done")])
    assert result.code == 0
    sent = {block["tool_use_id"]: str(block["content"]) for block in sent_to_model(tmp_path)}
    assert 100_000 <= len(sent["b1"].encode()) < 101_000
    assert "the tool returned 5,000,000 bytes" in sent["b1"] and "left out" in sent["b1"]
    assert LEAKED_KEY not in sent["k1"] and "[REDACTED:" in sent["k1"]


def test_a_server_that_cannot_start_is_a_warning_and_the_run_goes_on(cli, repo, tmp_path, isolated_env):
    user_config(isolated_env, {"mcp": {"servers": {
        "broken": {"command": sys.executable, "args": ["-c", "import sys; print('no such module', file=sys.stderr)"]},
        "notes": stdio_server()}}})
    call = tool_use_block("t1", "mcp__notes__lookup", {"word": "still"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert result.code == 0
    assert "definition of still" in results(events)["t1"]["output"]
    warnings = [e["message"] for e in events if e["type"] == "warning" and "broken" in e["message"]]
    assert len(warnings) == 1 and "could not start" in warnings[0] and "no such module" in warnings[0]


def test_a_projects_server_starts_only_once_trusted(cli, repo, tmp_path, isolated_env):
    marker = tmp_path / "started.txt"
    (repo / ".once").mkdir()
    (repo / ".once" / "config.toml").write_text(tomli_w.dumps({"mcp": {"servers": {"proj": stdio_server(
        env={"NOTES_FILE": str(marker)})}}}))
    call = tool_use_block("t1", "mcp__proj__lookup", {"word": "trust"})
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert result.code == 0 and results(events)["t1"]["is_error"]
    refused = [e for e in events if e["type"] == "mcp_server"]
    assert refused[0]["status"] == "refused" and "agent mcp trust proj" in refused[0]["message"]

    assert cli("mcp", "trust", "proj", cwd=repo).code == 0
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert "definition of trust" in results(events)["t1"]["output"]

    (repo / ".once" / "config.toml").write_text(tomli_w.dumps({"mcp": {"servers": {"proj": stdio_server(
        env={"NOTES_FILE": str(marker), "CHANGED": "1"})}}}))
    result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
    assert results(events)["t1"]["is_error"]  # a changed command is asked about again


@pytest.mark.skipif(not sandbox_state("auto").active, reason=sandbox_state("auto").why_not or "sandbox works")
def test_a_stdio_server_runs_in_the_sandbox(cli, repo, tmp_path, isolated_env, monkeypatch):
    outside = Path("/var/tmp") / f"once-mcp-{tmp_path.name}.txt"
    user_config(isolated_env, {"mcp": {"servers": {"notes": stdio_server(env={"NOTES_FILE": str(outside)})}},
                               "policy": {"allow": ["mcp__notes__write_note"]}})
    call = tool_use_block("w1", "mcp__notes__write_note", {"text": "escaped"})
    try:
        result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
        assert results(events)["w1"]["is_error"] and not outside.exists()
        monkeypatch.setenv("ONCE_SANDBOX", "off")  # the same call without the sandbox writes there
        result, events = run(cli, repo, tmp_path, [message([call]), message("done")])
        assert not results(events)["w1"]["is_error"] and outside.read_text() == "escaped\n"
    finally:
        outside.unlink(missing_ok=True)


def test_asked_once_allow_always_trusts_a_projects_server_for_later_runs(repo, tmp_path, isolated_env):
    from once.agent.permissions import Answer, Decision
    from once.agent.runner import RunRequest, run_once
    from once.config import load_settings
    from once.providers.replay import ReplayProvider
    from once.store import Store
    from once.vcs import GitRepo

    (repo / ".once").mkdir()
    (repo / ".once" / "config.toml").write_text(tomli_w.dumps({"mcp": {"servers": {"proj": stdio_server()}}}))
    asked: list = []

    def approver(request):
        asked.append((request.kind, request.subject))
        return Answer(Decision.allow_always)

    def run_with(approver=None) -> list:
        cassette = write_cassette(tmp_path / "c.json", [message([tool_use_block("t1", "mcp__proj__lookup", {
            "word": "asked"})]), message("done")])
        events: list = []
        settings = load_settings(repo)
        extra = {"approver": approver} if approver else {}
        with Store(tmp_path / "db") as store:
            run_once(RunRequest(prompt="go", permission_mode="ask", sinks=[events.append], **extra),
                     repo=GitRepo.open(repo), settings=settings, provider=ReplayProvider(cassette), store=store)
        return [e for e in events if e.type == "tool_result"]

    assert "definition of asked" in run_with(approver)[0].output
    assert asked == [("mcp_server", "proj")]  # the read-only tool itself is not asked about
    assert "proj:" in (isolated_env / ".config" / "once" / "config.toml").read_text()
    assert "definition of asked" in run_with()[0].output  # headless now: trusted, nobody asked
    assert asked == [("mcp_server", "proj")]
