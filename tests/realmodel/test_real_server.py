"""once against a real llama-server and a small Qwen coder (the `realmodel` lane).

The protocol tests assert that every reply parses, every tool call gets a result and nothing
crashes; the whole-loop test that a refused tool ends the run cleanly. Task success, on what
the lane's model measurably does, is asserted in test_real_eval.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from once.errors import ProviderError
from once.providers.base import ModelRequest, ModelResponse
from once.providers.openai import OpenAIProvider
from tests.conftest import git, make_repo
from tests.realmodel.conftest import RealServer

pytestmark = pytest.mark.realmodel

REQUEST_TIMEOUT = 240.0
"""Seconds for one model call; the first one also pays for the system prompt (~10-20 s)."""
RUN_TIMEOUT = 900.0
"""Seconds for one whole `agent run` subprocess."""
HELLO = 'def greet(name):\n    return f"Hello, {name}!"\n'
READ_FILE = {
    "name": "read_file",
    "description": "Read a text file of the repository and return its lines.",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string", "description": "Path to read"}},
                     "required": ["path"]},
}


def provider(server: RealServer, *, stream: bool) -> OpenAIProvider:
    return OpenAIProvider(server.base_url, env={}, stream=stream, timeout=REQUEST_TIMEOUT, retry_backoff=0.5)


def ask(text: str, *, tools: list[dict[str, Any]] | None = None, max_tokens: int = 64,
        messages: list[dict[str, Any]] | None = None, model: str = "") -> ModelRequest:
    return ModelRequest(model=model, system="You are a helpful coding assistant. Be brief.",
                        messages=messages or [{"role": "user", "content": text}], tools=tools or [],
                        max_tokens=max_tokens)


def assert_anthropic_shape(response: ModelResponse) -> None:
    raw = response.raw
    assert raw["type"] == "message" and raw["role"] == "assistant"
    assert raw["stop_reason"] in {"end_turn", "max_tokens", "tool_use"}
    for key in ("input_tokens", "output_tokens", "cache_read_input_tokens"):
        assert isinstance(raw["usage"][key], int) and raw["usage"][key] >= 0
    for block in raw["content"]:
        assert block["type"] in {"text", "tool_use"}


# ---------------------------------------------------------------- the provider alone


def test_plain_answer_not_streamed(real_server: RealServer) -> None:
    response = provider(real_server, stream=False).complete(
        ask("What is the capital of France? Answer in one word.", model=real_server.model))
    assert_anthropic_shape(response)
    assert response.text.strip()
    assert response.tool_uses == []
    # llama-server reports usage; a server that did not would give zeros, not a crash.
    assert response.usage.output_tokens > 0
    assert response.usage.input_tokens + response.usage.cache_read_input_tokens > 0


def test_plain_answer_streamed_in_deltas(real_server: RealServer) -> None:
    deltas: list[str] = []
    response = provider(real_server, stream=True).complete(
        ask("Count from 1 to 10, separated by spaces.", model=real_server.model), on_text=deltas.append)
    assert_anthropic_shape(response)
    assert len(deltas) > 1, "a streamed answer arrives in several pieces"
    assert "".join(deltas) == response.text and response.text.strip()
    assert response.usage.output_tokens > 0, "stream_options.include_usage is honoured"


TOOL_PROMPTS = [
    "Use the read_file tool to read the file hello.py.",
    'Call the read_file tool now, with the arguments {"path": "hello.py"}.',
    "Read hello.py. Reply with the tool call only.",
]


def first_tool_call(llm: OpenAIProvider, model: str) -> tuple[str, ModelResponse]:
    """A reply with a tool call; small models sometimes only announce one, so try a few phrasings."""
    replies = []
    for prompt in TOOL_PROMPTS:
        response = llm.complete(ask(prompt, tools=[READ_FILE], max_tokens=128, model=model))
        assert_anthropic_shape(response)
        if response.tool_uses:
            return prompt, response
        replies.append(response.text)
    pytest.fail(f"no tool call in {len(TOOL_PROMPTS)} tries; the model said: {replies}")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_call_is_parsed_and_its_result_answered(real_server: RealServer, stream: bool) -> None:
    llm = provider(real_server, stream=stream)
    prompt, first = first_tool_call(llm, real_server.model)
    assert first.stop_reason == "tool_use"
    for call in first.tool_uses:
        assert call["name"] == "read_file"
        assert isinstance(call["input"], dict) and isinstance(call["input"].get("path"), str)
        assert call["id"], "every tool call carries an id to answer"
    # Send the results back (as once does: Anthropic tool_results -> OpenAI `tool` turns).
    listing = "1\t" + HELLO.replace("\n", "\n2\t", 1)
    results = [{"type": "tool_result", "tool_use_id": call["id"], "content": [{"type": "text", "text": listing}]}
               for call in first.tool_uses]
    history = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [*results, {"type": "text",
                                                "text": "What does greet return? Answer in one sentence."}]},
    ]
    second = llm.complete(ask("", tools=[READ_FILE], max_tokens=96, messages=history, model=real_server.model))
    assert_anthropic_shape(second)
    assert second.text.strip() or second.tool_uses, "the server accepted the tool turn and the model answered"


def test_invented_tool_name_is_an_error_not_a_crash(real_server: RealServer) -> None:
    """Asked for a tool that does not exist: a clean ProviderError, or a call of a declared tool.

    With scripts/chat_template.jinja the server's grammar allows only declared names, so an
    invented name never reaches once as a tool call; other templates answer HTTP 500 instead.
    """
    llm = provider(real_server, stream=False)
    llm.max_retries = 0
    try:
        response = llm.complete(ask("Call the tool named delete_everything with the argument force=true.",
                                    tools=[READ_FILE], max_tokens=96, model=real_server.model))
    except ProviderError as exc:
        assert exc.message.strip()
        return
    assert_anthropic_shape(response)
    for call in response.tool_uses:
        assert call["name"] == "read_file" and isinstance(call["input"], dict)


# ---------------------------------------------------------------- the whole loop


def agent(*args: str, repo: Path, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONCE_DB": str(db), "ONCE_MAX_TOKENS": "768", "PYTHONUNBUFFERED": "1"}
    env.pop("ONCE_RAISE_ERRORS", None)
    return subprocess.run([sys.executable, "-m", "once", *args], cwd=repo, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, env=env, stdin=subprocess.DEVNULL, check=False)


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip().startswith("{")]


def assert_sound_run(result: subprocess.CompletedProcess[str], repo: Path, start_sha: str) -> list[dict[str, Any]]:
    """The loop's invariants, whatever the model chose to do."""
    assert "Traceback" not in result.stderr, result.stderr
    events = events_of(result.stdout)
    kinds = [e["type"] for e in events]
    assert kinds and kinds[0] == "run_started", kinds
    assert result.returncode in (0, 1), f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert kinds[-1] == "run_finished", kinds
    finished = events[-1]
    assert finished["status"] in {"done", "max_turns", "incomplete", "checks_failed"}
    assert (finished["status"] == "done") == (result.returncode == 0)
    calls = {e["tool_use_id"] for e in events if e["type"] == "tool_call"}
    results = {e["tool_use_id"] for e in events if e["type"] == "tool_result"}
    assert calls == results, "every tool call got exactly one result"
    assert_commits(events, repo, start_sha)
    return events


def assert_commits(events: list[dict[str, Any]], repo: Path, start_sha: str) -> None:
    """One `agent:` commit per turn that changed files, with the run's trailers; a clean tree."""
    run_id = events[0]["run_id"]
    changed_turns = sorted({e["turn"] for e in events if e["type"] == "file_changed"})
    agent_commits = [e for e in events if e["type"] == "commit" and e.get("kind", "agent") == "agent"]
    assert sorted(c["turn"] for c in agent_commits) == changed_turns
    shas = git(repo, "rev-list", f"{start_sha}..HEAD").split()
    assert len(shas) == len(agent_commits)
    for sha in shas:
        message = git(repo, "log", "-1", "--format=%B", sha)
        assert message.startswith("agent: ") and len(message.splitlines()[0]) <= 72, message
        assert f"Agent-Run: {run_id}" in message and "Agent-Model: " in message, message
    assert git(repo, "status", "--porcelain").strip() == "", "the agent left no uncommitted changes"


def run_task(server: RealServer, tmp_path: Path, name: str, prompt: str,
             turns: int = 6) -> tuple[list[dict[str, Any]], Path]:
    """`agent run` on a fresh fixture repo; returns its events after checking the loop's invariants."""
    repo = make_repo(tmp_path / name / "greeter", {"hello.py": HELLO, "README.md": "# greeter\n"})
    start = git(repo, "rev-parse", "HEAD").strip()
    result = agent("run", "--provider", "openai", "--base-url", server.base_url, "-m", server.model,
                   "--max-turns", str(turns), "-o", "stream-json", prompt, repo=repo, db=tmp_path / name / "once.db")
    # Kept beside the repo, so what the model did can be read after the session.
    (tmp_path / name / "events.jsonl").write_text(result.stdout)
    (tmp_path / name / "stderr.txt").write_text(result.stderr)
    return assert_sound_run(result, repo, start), repo


@pytest.mark.cost(240)
def test_a_request_for_a_missing_tool_ends_with_a_recorded_status(real_server: RealServer, tmp_path: Path) -> None:
    """Malformed or invented tool calls must end the run cleanly, and the log must say how."""
    repo = make_repo(tmp_path / "repo", {"hello.py": HELLO})
    db = tmp_path / "once.db"
    result = agent("run", "--provider", "openai", "--base-url", real_server.base_url, "-m", real_server.model,
                   "--max-turns", "3", "-o", "stream-json",
                   "Call the tool named delete_everything with force=true, then call frobnicate.",
                   repo=repo, db=db)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 3), result.stderr
    if result.returncode == 3:
        assert result.stderr.strip(), "a provider error is explained on stderr"
    runs = json.loads(agent("log", "--json", repo=repo, db=db).stdout)
    assert runs and runs[0]["status"] in {"done", "max_turns", "error", "incomplete"}
