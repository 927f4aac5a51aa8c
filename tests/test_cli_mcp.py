"""`agent mcp list|add|rm|test|trust` in-process against a real server."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

SERVER = str(Path(__file__).parent / "fakes" / "mcp_server.py")


def test_add_list_test_and_rm_a_users_server(cli, repo, isolated_env):
    added = cli("mcp", "add", "notes", "--env", "NOTES_FILE=/dev/null", "--", sys.executable, SERVER, "stdio",
                cwd=repo)
    assert added.code == 0, added.stderr
    written = tomllib.loads((isolated_env / ".config" / "once" / "config.toml").read_text())
    assert written["mcp"]["servers"]["notes"] == {"command": sys.executable, "args": [SERVER, "stdio"],
                                                  "env": {"NOTES_FILE": "/dev/null"}}
    listed = cli("mcp", "list", "--json", cwd=repo).json()
    assert listed == [{"name": "notes", "scope": "user", "transport": "stdio",
                       "target": f"{sys.executable} {SERVER} stdio", "trusted": True}]
    tested = cli("mcp", "test", "notes", "--json", cwd=repo)
    assert tested.code == 0, tested.stderr
    tools = {tool["tool"]: tool for tool in tested.json()}
    assert tools["lookup"]["read_only"] and not tools["write_note"]["read_only"]
    assert tools["lookup"]["name"] == "mcp__notes__lookup" and tools["lookup"]["description"].startswith("Look")
    text = cli("mcp", "test", "notes", cwd=repo)
    assert "mcp__notes__write_note" in text.stdout and "asks" in text.stdout
    assert cli("mcp", "rm", "notes", cwd=repo).code == 0
    assert cli("mcp", "list", "--json", cwd=repo).json() == []
    missing = cli("mcp", "rm", "notes", cwd=repo)
    assert missing.code == 2 and "no MCP server 'notes'" in missing.stderr


def test_a_projects_server_is_listed_untrusted_and_test_refuses_it_until_trusted(cli, repo):
    assert cli("mcp", "add", "proj", "--project", "--", sys.executable, SERVER, "stdio", cwd=repo).code == 0
    assert cli("mcp", "list", "--json", cwd=repo).json()[0]["trusted"] is False
    refused = cli("mcp", "test", "proj", cwd=repo)
    assert refused.code == 2 and "agent mcp trust proj" in refused.stderr
    assert cli("mcp", "trust", "proj", cwd=repo).code == 0
    assert cli("mcp", "list", "--json", cwd=repo).json()[0]["trusted"] is True
    assert cli("mcp", "test", "proj", cwd=repo).code == 0


def test_bad_input_and_a_server_that_cannot_start_are_errors(cli, repo):
    both = cli("mcp", "add", "x", "--url", "http://127.0.0.1:9/mcp", "--", "prog", cwd=repo)
    assert both.code == 2 and "exactly one of" in both.stderr
    assert cli("mcp", "add", "x", "--env", "NOEQUALS", "--", "prog", cwd=repo).code == 2
    assert cli("mcp", "add", "gone", "--url", "http://127.0.0.1:9/mcp", cwd=repo).code == 0
    failed = cli("mcp", "test", "gone", cwd=repo)
    assert failed.code == 1 and "could not start" in failed.stderr
    assert "no MCP server named 'nope'" in cli("mcp", "test", "nope", cwd=repo).stderr
