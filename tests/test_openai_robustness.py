"""What real OpenAI-compatible servers do, and how the provider and loop cope."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from once.agent.runner import RunRequest, run_once
from once.config import load_settings
from once.errors import ModelOutputError, ProviderError
from once.providers.base import ModelRequest
from once.providers.openai import OpenAIProvider
from once.store import Store
from once.vcs import GitRepo
from tests.fakes.openai_server import FakeOpenAIServer, Status, completion, tool_call

TOOLS = [{"name": "read_file", "description": "Read a file.",
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}]
PARSE_FAILURE = Status(500, message="Failed to parse tool call arguments as JSON: [json.exception.parse_error.101]")


def request() -> ModelRequest:
    return ModelRequest(model="qwen", system="be brief", messages=[{"role": "user", "content": "hi"}], tools=TOOLS)


def run_with(server: FakeOpenAIServer, repo: Path, tmp_path: Path, events: list) -> object:
    provider = OpenAIProvider(server.base_url, retry_backoff=0, max_retries=1)
    settings = load_settings(repo, env={}, flags={"provider": "openai", "model": "qwen", "max_turns": 6,
                                                       "edit_format": "tools"})
    with Store(tmp_path / "db") as store:
        return run_once(RunRequest(prompt="read util.py", sinks=[events.append]), repo=GitRepo.open(repo),
                        settings=settings, provider=provider, store=store)


def test_tool_call_written_as_json_text_is_executed(repo, tmp_path):
    as_text = completion(json.dumps({"name": "read_file", "arguments": {"path": "util.py"}}))
    events: list = []
    with FakeOpenAIServer([as_text, completion("It returns 1.")]) as server:
        result = run_with(server, repo, tmp_path, events)
        second = server.requests[1].body
    assert result.status == "done" and result.result == "It returns 1."
    results = [e for e in events if e.type == "tool_result"]
    assert len(results) == 1 and not results[0].is_error and "return 1" in results[0].output
    # the model sees its call as a structured tool call, answered by a tool message
    assistant = [m for m in second["messages"] if m["role"] == "assistant"][0]
    assert assistant["tool_calls"][0]["function"]["name"] == "read_file"
    assert [m["role"] for m in second["messages"]][-1] == "tool"


def test_server_500_on_malformed_model_output_is_fed_back_to_the_model(repo, tmp_path):
    events: list = []
    script = [PARSE_FAILURE, PARSE_FAILURE, completion("Sorry, here is the answer.")]
    with FakeOpenAIServer(script) as server:
        result = run_with(server, repo, tmp_path, events)
        retried = server.requests[2].body["messages"]
    assert result.status == "done" and result.result == "Sorry, here is the answer."
    errors = [e for e in events if e.type == "error"]
    assert len(errors) == 1 and errors[0].kind == "model_output" and "parse" in errors[0].message
    assert "could not be used" in retried[-1]["content"]


def test_persistent_model_output_failures_end_the_run(repo, tmp_path):
    events: list = []
    with FakeOpenAIServer([], fallback=PARSE_FAILURE) as server:
        with pytest.raises(ModelOutputError):
            run_with(server, repo, tmp_path, events)
        # 3 model calls x (1 + 1 retry) requests each: bounded
        assert len(server.requests) == 6
    assert [e.status for e in events if e.type == "run_finished"] == ["error"]


def test_llama_cpp_wording_of_an_unparseable_reply_is_recognised():
    llama = Status(500, message="The model produced output that does not match the expected tool call format")
    with FakeOpenAIServer([], fallback=llama) as server:
        with pytest.raises(ModelOutputError):
            OpenAIProvider(server.base_url, retry_backoff=0, max_retries=1).complete(request())


def test_an_ordinary_500_is_not_mistaken_for_bad_model_output():
    with FakeOpenAIServer([], fallback=Status(500, message="CUDA out of memory")) as server:
        with pytest.raises(ProviderError) as caught:
            OpenAIProvider(server.base_url, retry_backoff=0).complete(request())
    assert type(caught.value) is ProviderError and "out of memory" in caught.value.message


def test_raw_arguments_get_a_clear_message_back(repo, tmp_path):
    broken = completion(None, tool_calls=[tool_call("read_file", '{"path": "util.py"', id="c1")])
    events: list = []
    with FakeOpenAIServer([broken, completion("ok")]) as server:
        run_with(server, repo, tmp_path, events)
    (result,) = [e for e in events if e.type == "tool_result"]
    assert result.is_error and "not valid JSON" in result.output and "path" in result.output


def slow(seconds: float, action: object):
    def respond(_request: object) -> object:
        time.sleep(seconds)
        return action

    return respond


def test_a_slow_first_token_is_waited_for_within_the_timeout():
    with FakeOpenAIServer([slow(0.6, completion("late but fine"))]) as server:
        response = OpenAIProvider(server.base_url, timeout=5).complete(request())
    assert response.text == "late but fine"


def test_a_server_slower_than_the_timeout_is_a_clear_error():
    with FakeOpenAIServer([slow(1.0, completion("too late"))]) as server:
        with pytest.raises(ProviderError) as caught:
            OpenAIProvider(server.base_url, timeout=0.3, retry_backoff=0).complete(request())
    assert "did not answer within 0.3 seconds" in caught.value.message


def test_a_parse_failure_inside_a_stream_counts_as_bad_model_output():
    from tests.fakes.openai_server import Raw

    error = {"error": {"code": 500, "message": "The model produced output that does not match the expected "
                                              "peg-native format", "type": "server_error"}}
    role = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
    with FakeOpenAIServer([], fallback=Raw([role, error], done=False)) as server:
        with pytest.raises(ModelOutputError):
            OpenAIProvider(server.base_url, retry_backoff=0, max_retries=1).complete(request())
        assert len(server.requests) == 2
