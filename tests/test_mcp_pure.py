"""The pure parts of MCP support: config, names, results, trust, the permission gate's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from once.agent.permissions import Answer, Decision, PermissionGate
from once.agent.recorder import Recorder
from once.config import load_settings
from once.errors import ConfigError
from once.mcp.config import expand, fingerprint, is_trusted, parse_mcp_table, trust_entry
from once.mcp.names import MAX_LENGTH, tool_name
from once.mcp.results import cut, for_model, render
from once.safety.policy import Policy


def test_servers_parse_and_bad_ones_say_what_is_wrong():
    servers, trusted = parse_mcp_table({"servers": {
        "docs": {"command": "uvx", "args": ["docs-mcp"], "env": {"T": "${T}"}, "timeout": 5},
        "web": {"url": "https://example.com/mcp"}}, "trusted": ["docs:abc"]}, "f", "user")
    assert servers["docs"].transport == "stdio" and servers["docs"].timeout == 5.0
    assert servers["docs"].describe() == "uvx docs-mcp" and servers["web"].transport == "http"
    assert trusted == ("docs:abc",)
    for bad, words in [({"servers": {"x": {}}}, "exactly one of"),
                       ({"servers": {"x": {"command": "a", "url": "http://h"}}}, "exactly one of"),
                       ({"servers": {"x": {"url": "ftp://h"}}}, "http://"),
                       ({"servers": {"a__b": {"command": "a"}}}, "not allowed"),
                       ({"servers": {"x": {"command": "a", "timeout": 0}}}, "above 0"),
                       ({"servers": {"x": {"command": "a", "colour": 1}}}, "unknown key"),
                       ({"servers": {"x": {"url": "http://h", "args": []}}}, "stdio servers")]:
        with pytest.raises(ConfigError) as caught:
            parse_mcp_table(bad, "f", "user")
        assert words in caught.value.message


def test_a_project_cannot_trust_its_own_servers_and_its_servers_join_the_users(tmp_path, isolated_env):
    with pytest.raises(ConfigError, match="cannot be set in a project"):
        parse_mcp_table({"trusted": ["x:1"]}, "f", "project")
    user = isolated_env / ".config" / "once" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('model = "m"\n[mcp.servers.a]\ncommand = "a"\n[mcp.servers.b]\ncommand = "b"\n')
    repo = tmp_path / "r"
    (repo / ".once").mkdir(parents=True)
    (repo / ".once" / "config.toml").write_text('[mcp.servers.b]\nurl = "http://127.0.0.1:1/mcp"\n')
    settings = load_settings(repo, env={"XDG_CONFIG_HOME": str(isolated_env / ".config")})
    assert settings.model == "m"
    assert settings.mcp.servers["a"].scope == "user" and settings.mcp.servers["b"].scope == "project"


def test_trust_is_for_this_repository_and_this_command():
    servers, _ = parse_mcp_table({"servers": {"p": {"command": "run-me"}}}, "f", "project")
    spec = servers["p"]
    entry = trust_entry(spec, "/repo/a")
    assert is_trusted(spec, "/repo/a", (entry,)) and not is_trusted(spec, "/repo/b", (entry,))
    changed, _ = parse_mcp_table({"servers": {"p": {"command": "run-me", "args": ["--evil"]}}}, "f", "project")
    assert fingerprint(changed["p"], "/repo/a") != fingerprint(spec, "/repo/a")
    assert not is_trusted(changed["p"], "/repo/a", (entry,))


def test_variables_expand_from_the_environment_and_missing_ones_are_named():
    assert expand("Bearer ${TOKEN}", {"TOKEN": "t"}) == ("Bearer t", [])
    assert expand("${A}-${B}", {"A": "1"}) == ("1-", ["B"])


def test_tool_names_are_safe_short_and_distinct():
    assert tool_name("docs", "search") == "mcp__docs__search"
    assert tool_name("docs", "get.page v2") == "mcp__docs__get_page_v2"
    long = tool_name("docs", "x" * 100)
    assert len(long) <= MAX_LENGTH and long != tool_name("docs", "x" * 99)
    taken = {"mcp__docs__a_b"}
    assert tool_name("docs", "a.b", taken) not in taken


def test_results_render_text_and_name_what_they_do_not_show():
    text, error = render({"content": [{"type": "text", "text": "one"}, {"type": "image", "data": "QUJD",
                                                                          "mimeType": "image/png"}], "isError": True})
    assert error and text.startswith("one\n[image image/png, 3 bytes")
    assert render({"content": [], "structuredContent": {"n": 1}})[0].replace(" ", "").replace("\n", "") == '{"n":1}'
    assert render({})[0] == "(the tool returned nothing)"


def test_a_cut_says_how_much_was_left_out_and_small_results_are_untouched():
    assert cut("short") == "short"
    text = "é" * 1000
    shown = cut(text, 101)
    assert shown.startswith("é" * 50) and "2,000 bytes" in shown and "1,900 left out" in shown
    secret = "AKIA" + "QYLPMN5HGT3XBWKZ"
    assert secret not in for_model({"content": [{"type": "text", "text": f"key {secret}"}]})[0]


class _Repo:
    def ignored_paths(self, paths):
        return []


def gate(mode: str, answers: list[Decision], allow=(), deny=()) -> tuple[PermissionGate, list]:
    asked: list = []

    def approver(request):
        asked.append(request)
        return Answer(answers.pop(0))

    recorder = Recorder(session_id="s", run_id="r", store=None, sinks=[])
    return PermissionGate(mode, Policy(tuple(allow), tuple(deny)), approver, Path("/"), _Repo(), recorder), asked


def test_the_gate_allows_read_only_tools_and_asks_for_the_rest_like_commands():
    ask, asked = gate("ask", [Decision.allow_always])
    assert ask.check_tool("mcp__a__read", True, "") is None and not asked
    assert ask.check_tool("mcp__a__write", False, "input") is None and asked[0].kind == "tool"
    assert ask.check_tool("mcp__a__write", False, "input") is None and len(asked) == 1  # always
    plan, asked = gate("plan", [])
    assert "read-only" in plan.check_tool("mcp__a__write", False, "") and not asked
    assert plan.check_tool("mcp__a__read", True, "") is None
    auto, asked = gate("auto-edit", [Decision.reject])
    assert "policy.allow mcp__a__write" in auto.check_tool("mcp__a__write", False, "")
    full, asked = gate("full-auto", [])
    assert full.check_tool("mcp__a__write", False, "") is None and not asked
    ruled, asked = gate("auto-edit", [], allow=["mcp__a__*"], deny=["mcp__a__drop*"])
    assert ruled.check_tool("mcp__a__write", False, "") is None and not asked
    assert "policy.deny" in ruled.check_tool("mcp__a__drop_table", True, "")


def test_a_projects_server_gets_no_credential_through_its_config(tmp_path: Path) -> None:
    """Trusting a project's command line must not hand it your keys: its `${VAR}` are read from the
    environment commands get; a user's own server may name any variable."""
    from once.mcp.launch import Launch, resolve

    table = {"servers": {"helper": {"command": "python3", "args": ["srv.py"], "network": True,
                                    "env": {"HELPER_CFG": "${ANTHROPIC_API_KEY}"}}}}
    environ = {"ANTHROPIC_API_KEY": "sk-ant-secret", "PATH": "/usr/bin"}
    launch = Launch("off", False, {"PATH": "/usr/bin"}, environ)
    project = parse_mcp_table(table, "project config", "project")[0]["helper"]
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY not set"):
        resolve(project, str(tmp_path), launch)
    assert "HELPER_CFG=${ANTHROPIC_API_KEY}" in project.for_approval() and "network" in project.for_approval()
    user = parse_mcp_table(table, "user config", "user")[0]["helper"]
    target = resolve(user, str(tmp_path), launch)
    assert ("HELPER_CFG", "sk-ant-secret") in target.env


def test_a_project_cannot_widen_what_commands_are_given(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".once").mkdir(parents=True)
    (repo / ".once" / "config.toml").write_text('command_env = ["*"]\n')
    with pytest.raises(ConfigError, match="command_env cannot be set in a project"):
        load_settings(repo, env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
