"""What a run puts in context: knowledge, AGENTS.md (nested too), and what survives compaction."""

from __future__ import annotations

import json

from tests.conftest import make_repo
from tests.fakes.anthropic_server import FakeAnthropicServer, by_model, main_requests, message, text_block, tool_use_block


def use_server(monkeypatch, server):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)


def system_text(request) -> str:
    return "".join(block["text"] for block in request.body["system"])


def test_knowledge_and_nested_agents_md_reach_the_model_in_order(cli, tmp_path, monkeypatch, isolated_env):
    repo = make_repo(tmp_path / "r", {
        "AGENTS.md": "Root rule: use tabs.\n",
        "api/AGENTS.md": "API rule: use spaces here.\n",
        "api/routes.py": "ROUTES = []\n",
        ".once/knowledge.md": "Project fact: the API is versioned.\n",
    })
    workspace = isolated_env / ".config" / "once"
    workspace.mkdir(parents=True)
    (workspace / "knowledge.md").write_text("Workspace fact: prefer small commits.\n")
    script = [message([tool_use_block("t1", "read_file", {"path": "api/routes.py"})]), message("ok")]
    with FakeAnthropicServer([], fallback=by_model(script)) as server:
        use_server(monkeypatch, server)
        result = cli("run", "--db", str(tmp_path / "db"), "-o", "stream-json", "look at the api", cwd=repo)
        first, second = main_requests(server)
    assert result.code == 0, result.stderr
    system = system_text(first)
    order = [system.index(s) for s in ("Workspace fact", "Project fact", "Root rule")]
    assert order == sorted(order) and "more specific one wins" in system
    assert "API rule" not in system  # nested files join when their files do
    tool_result = second.body["messages"][-1]["content"][0]
    assert "API rule: use spaces here." in tool_result["content"] and "api/AGENTS.md" in tool_result["content"]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    loaded = [(e["kind"], e["path"]) for e in events if e["type"] == "context_loaded"]
    assert [k for k, _ in loaded] == ["workspace_knowledge", "project_knowledge", "agents_md", "agents_md"]
    assert loaded[-1][1] == "api/AGENTS.md"
    assert events[0]["type"] == "run_started"


def test_overlong_workspace_knowledge_is_truncated_with_a_warning(cli, repo, tmp_path, isolated_env):
    workspace = isolated_env / ".config" / "once"
    workspace.mkdir(parents=True)
    (workspace / "knowledge.md").write_text("x" * 60 + "\n" + "y" * 12_000)
    from tests.conftest import write_cassette

    cassette = write_cassette(tmp_path / "c.json", [message("ok")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "hi", cwd=repo)
    assert result.code == 0
    assert "warning:" in result.stderr and "10000" in result.stderr.replace(",", "")


def test_compaction_keeps_the_task_agents_md_and_the_plan(cli, tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", {"AGENTS.md": "Always run the linter.\n", "big.txt": "line\n" * 3000})
    plan = tmp_path / "plan.md"
    plan.write_text("## Overview\nRead things.\n\n## Steps\n1. Read big.txt\n2. Report\n")
    # Each read from another line: the same call with the same output three times would stop the run.
    reads = [message([text_block(f"Reading {i}."), tool_use_block(f"t{i}", "read_file",
                                                                  {"path": "big.txt", "offset": i + 1})])
             for i in range(6)]
    monkeypatch.setenv("ONCE_CONTEXT_BUDGET", "12000")
    main_script = [*reads, message("Done.")]

    def answer(request):  # the small model (compaction) and the main model share the fake server
        if request.body["model"] == "claude-haiku-4-5":
            return message("SMALL SUMMARY: big.txt was read several times.")
        return main_script.pop(0)

    with FakeAnthropicServer([], fallback=answer) as server:
        use_server(monkeypatch, server)
        result = cli("run", "--plan", str(plan), "--db", str(tmp_path / "db"), "-o", "stream-json", cwd=repo)
        last = main_requests(server)[-1].body["messages"]
    assert result.code == 1, result.stderr  # plan steps were never marked done
    events = [json.loads(line) for line in result.stdout.splitlines()]
    compactions = [e for e in events if e["type"] == "compaction"]
    assert compactions and compactions[0]["tokens_after"] < compactions[0]["tokens_before"]
    assert compactions[0]["method"] == "small_model"
    first_text = "".join(b.get("text", "") for b in last[0]["content"])
    assert "Carry out the approved plan" in first_text  # the task itself survives
    assert "[Summary of earlier turns]" in first_text and "SMALL SUMMARY" in first_text
    assert "Always run the linter." in first_text and "Read big.txt" in first_text
    assert len(last) < 13


def test_offline_compaction_truncates_deterministically(cli, tmp_path, monkeypatch):
    from tests.conftest import write_cassette

    repo = make_repo(tmp_path / "r", {"big.txt": "line\n" * 3000})
    reads = [message([tool_use_block(f"t{i}", "read_file", {"path": "big.txt", "offset": i + 1})]) for i in range(6)]
    cassette = write_cassette(tmp_path / "c.json", [*reads, message("Done.")])
    monkeypatch.setenv("ONCE_CONTEXT_BUDGET", "12000")
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json", "read", cwd=repo)
    assert result.code == 0
    methods = [json.loads(line)["method"] for line in result.stdout.splitlines() if '"compaction"' in line]
    assert methods and set(methods) == {"truncate"}


def test_skills_names_in_the_prompt_and_a_slash_name_loads_the_body(cli, tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", {
        ".once/skills/release-notes/SKILL.md": "---\nname: release-notes\ndescription: Write release notes. "
                                               "Use when asked for a changelog.\n---\nRELEASE BODY: group by type.\n",
        ".claude/skills/Bad_Name/SKILL.md": "---\nname: Bad_Name\ndescription: broken\n---\nbody\n",
    })
    with FakeAnthropicServer([], fallback=by_model([message("ok")])) as server:
        use_server(monkeypatch, server)
        result = cli("run", "--db", str(tmp_path / "db"), "-o", "stream-json", "/release-notes for 1.2", cwd=repo)
        (request,) = main_requests(server)
    assert result.code == 0, result.stderr
    system = system_text(request)
    assert "release-notes: Write release notes." in system and "python-tests" in system
    assert "RELEASE BODY" not in system
    first = request.body["messages"][0]["content"]
    assert "RELEASE BODY: group by type." in first[0]["text"] and first[-1]["text"] == "/release-notes for 1.2"
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["type"] == "context_loaded" and e["kind"] == "skill" and e["path"].endswith("release-notes/SKILL.md")
               for e in events)
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert any("Bad_Name" in w for w in warnings)


def test_offline_runs_route_skills_lexically(cli, repo, tmp_path):
    from tests.conftest import write_cassette

    cassette = write_cassette(tmp_path / "c.json", [message("ok")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "-o", "stream-json",
                 "add a pytest test for parse_args", cwd=repo)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    skills = [e["path"] for e in events if e["type"] == "context_loaded" and e["kind"] == "skill"]
    assert len(skills) == 1 and skills[0].endswith("python-tests/SKILL.md")


def test_a_mistyped_skill_name_is_warned_about(cli, repo, tmp_path):
    from tests.conftest import write_cassette

    cassette = write_cassette(tmp_path / "c.json", [message("ok")])
    result = cli("run", "--replay", str(cassette), "--db", str(tmp_path / "db"), "/pyhton-tests which tests cover /usr?",
                 cwd=repo)
    assert result.code == 0
    assert "no skill named 'pyhton-tests'; did you mean /python-tests?" in result.stderr
    assert "'usr'" not in result.stderr
