"""Bad input and hostile configuration get clear errors before anything runs."""

from __future__ import annotations

import json

from tests.conftest import git, run_agent_subprocess, write_cassette
from tests.fakes.anthropic_server import FakeAnthropicServer, by_model, main_requests, message, text_block, tool_use_block


def cassette(tmp_path, *responses):
    return str(write_cassette(tmp_path / "c.json", list(responses)))


def test_record_never_overwrites_a_file(cli, repo, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    result = cli("run", "--replay", cassette(tmp_path, message("hi")), "--record", str(precious),
                 "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 2 and "overwrite" in result.stderr
    assert precious.read_text() == "keep me\n"
    missing_dir = cli("run", "--replay", cassette(tmp_path, message("hi")), "--record",
                      str(tmp_path / "nope" / "x.json"), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert missing_dir.code == 2 and "no such directory" in missing_dir.stderr
    assert not (tmp_path / "nope").exists()


def test_conflicting_flags_are_refused(cli, repo, tmp_path):
    both = cli("run", "-c", "--session", "s-x", "--replay", cassette(tmp_path, message("hi")), "hi", cwd=repo)
    assert both.code == 2 and "--continue and --session" in both.stderr
    replay_and_provider = cli("run", "--replay", cassette(tmp_path, message("hi")), "--provider", "openai", "hi",
                              cwd=repo)
    assert replay_and_provider.code == 2 and "--replay" in replay_and_provider.stderr


def test_json_output_reports_errors_as_json(cli, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    result = cli("run", "-o", "json", "--replay", cassette(tmp_path, message("hi")), "hi", cwd=plain)
    assert result.code == 2
    data = result.json()
    assert data["status"] == "error" and data["error"]["kind"] == "NotARepoError"
    assert data["error"]["exit_code"] == 2 and "git init" in data["error"]["hint"]
    streamed = cli("run", "-o", "stream-json", "--replay", cassette(tmp_path, message("hi")), "hi", cwd=plain)
    line = json.loads(streamed.stdout.strip().splitlines()[-1])
    assert line["type"] == "error" and line["kind"] == "NotARepoError"


def test_a_missing_directory_is_named(cli, tmp_path):
    result = cli("log", "-C", str(tmp_path / "does-not-exist"))
    assert result.code == 2 and "no such directory" in result.stderr


def test_a_repository_cannot_redirect_the_model_server(cli, repo, tmp_path):
    (repo / ".once").mkdir()
    (repo / ".once" / "config.toml").write_text('base_url = "http://127.0.0.1:9/v1"\n')
    result = cli("run", "--replay", cassette(tmp_path, message("hi")), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 2
    assert "base_url cannot be set in a project's config" in result.stderr and "API key" in result.stderr
    refused = cli("config", "set", "--project", "base_url", "http://127.0.0.1:9/v1", cwd=repo)
    assert refused.code == 2 and "project" in refused.stderr


def test_base_url_must_be_a_url(cli, repo):
    result = cli("config", "set", "base_url", "notaurl", cwd=repo)
    assert result.code == 2 and "http://" in result.stderr


def test_the_users_openai_base_url_does_not_move_the_anthropic_api(cli, repo, tmp_path, monkeypatch):
    assert cli("config", "set", "base_url", "http://127.0.0.1:9/v1", cwd=repo).code == 0
    with FakeAnthropicServer([], fallback=by_model([message("Answered by the Anthropic API.")])) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        result = cli("run", "--db", str(tmp_path / "db"), "hi", cwd=repo)
        assert len(main_requests(server)) == 1
    assert result.code == 0 and "Answered by the Anthropic API." in result.stdout


def test_a_half_set_price_breaks_only_its_own_model_and_before_any_call(cli, repo, tmp_path):
    assert cli("config", "set", "prices.other-model.input", "0.5", cwd=repo).code == 0
    fine = cli("run", "--replay", cassette(tmp_path, message("ok")), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert fine.code == 0
    assert cli("config", "set", "prices.claude-sonnet-4-6.input", "0.5", cwd=repo).code == 0
    broken = cli("run", "--replay", cassette(tmp_path, message("ok")), "--db", str(tmp_path / "db2"), "-o", "json",
                 "hi", cwd=repo)
    assert broken.code == 2 and "'output'" in broken.json()["error"]["message"]


def test_nonsense_usage_in_a_response_counts_as_zero(cli, repo, tmp_path):
    odd = message("ok", usage={"input_tokens": "many", "output_tokens": -5})
    result = cli("run", "--replay", cassette(tmp_path, odd), "--db", str(tmp_path / "db"), "-o", "json", "hi",
                 cwd=repo)
    assert result.code == 0
    assert result.json()["usage"]["input_tokens"] == 0 and result.json()["usage"]["cost_usd"] == 0


def test_escape_sequences_from_the_model_never_reach_the_terminal(cli, repo, tmp_path):
    evil = "\x1b]0;PWNED\x07\x1b[2Jdone"
    responses = [message([text_block(evil), tool_use_block("t1", "list_files", {})]), message(evil)]
    result = cli("run", "--replay", cassette(tmp_path, *responses), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 0
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "done" in result.stdout


def test_sigterm_stops_the_run_cleanly_and_kills_the_command(repo, tmp_path):
    marker = tmp_path / "after-term.txt"
    responses = [message([tool_use_block("t1", "run_command", {"command": f"kill -TERM $PPID; sleep 1.5; echo late > {marker}"})]),
                 message("never")]
    # The command signals the agent itself through $PPID: outside the sandbox, whose own pid
    # namespace keeps a command from reaching the agent at all.
    proc = run_agent_subprocess("run", "--replay", cassette(tmp_path, *responses), "--db", str(tmp_path / "db"),
                                "--permission-mode", "full-auto", "-o", "json", "go", cwd=repo,
                                env={"ONCE_SANDBOX": "off"})
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["status"] == "interrupted"
    import time

    time.sleep(2.0)
    assert not marker.exists()
    assert git(repo, "status", "--porcelain") == ""
