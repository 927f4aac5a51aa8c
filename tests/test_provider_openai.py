"""The `openai` provider against a local fake chat-completions server."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from once.errors import AuthenticationError, ProviderError
from once.providers.base import ModelRequest
from once.providers.openai import OpenAIProvider
from once.providers.openai_convert import RAW_ARGUMENTS_KEY
from tests.fakes.openai_server import Cut, FakeOpenAIServer, Json, Raw, Status, completion, tool_call

TOOLS = [
    {
        "name": "read_file",
        "description": "Read a file.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    }
]


def request(tools: list[dict[str, Any]] | None = None) -> ModelRequest:
    return ModelRequest(
        model="qwen2.5-coder:7b",
        system="You are a coding agent.",
        messages=[{"role": "user", "content": "What is in calc.py?"}],
        tools=TOOLS if tools is None else tools,
        max_tokens=256,
    )


def provider(server: FakeOpenAIServer, **kwargs: Any) -> OpenAIProvider:
    kwargs.setdefault("retry_backoff", 0)
    return OpenAIProvider(server.base_url, env={}, **kwargs)


def test_streamed_text_arrives_in_deltas() -> None:
    deltas: list[str] = []
    with FakeOpenAIServer([completion("The file defines add() and sub().")]) as server:
        response = provider(server).complete(request(), on_text=deltas.append)
    assert len(deltas) > 1
    assert "".join(deltas) == response.text == "The file defines add() and sub()."
    assert response.stop_reason == "end_turn"
    assert response.raw["type"] == "message"
    (sent,) = server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["model"] == "qwen2.5-coder:7b" and sent.body["max_tokens"] == 256
    assert sent.body["messages"][0] == {"role": "system", "content": "You are a coding agent."}
    assert sent.body["tools"][0]["function"]["name"] == "read_file"
    assert "Authorization" not in sent.headers
    assert server.errors == []


def test_streamed_tool_call_with_split_arguments() -> None:
    args = {"path": "src/pkg/calc.py", "note": "a long enough value to be split into pieces"}
    reply = completion("Reading.", [tool_call("read_file", args, id="call_7")])
    with FakeOpenAIServer([reply]) as server:
        response = provider(server).complete(request())
    assert response.stop_reason == "tool_use"
    assert response.tool_uses == [{"type": "tool_use", "id": "call_7", "name": "read_file", "input": args}]
    assert response.text == "Reading."


def test_usage_is_mapped_from_the_final_chunk() -> None:
    reply = completion("ok", usage={"prompt_tokens": 321, "completion_tokens": 45})
    with FakeOpenAIServer([reply, completion("ok", no_usage=True)]) as server:
        first = provider(server).complete(request())
        second = provider(server).complete(request())
    assert (first.usage.input_tokens, first.usage.output_tokens) == (321, 45)
    assert second.usage.to_dict() == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_non_streamed_mode() -> None:
    deltas: list[str] = []
    reply = completion(None, [tool_call("read_file", {"path": "a.py"}, id="c1")], usage={"prompt_tokens": 5})
    with FakeOpenAIServer([reply]) as server:
        response = provider(server, stream=False).complete(request(), on_text=deltas.append)
    (sent,) = server.requests
    assert sent.body["stream"] is False and "stream_options" not in sent.body
    assert response.tool_uses[0]["input"] == {"path": "a.py"}
    assert response.usage.input_tokens == 5
    assert deltas == []


def test_server_that_ignores_stream_flag_still_works() -> None:
    deltas: list[str] = []
    with FakeOpenAIServer([Json(completion("whole"))]) as server:
        response = provider(server).complete(request(), on_text=deltas.append)
    assert response.text == "whole" and deltas == ["whole"]


def test_empty_tools_are_omitted_and_key_is_sent_as_bearer() -> None:
    with FakeOpenAIServer([completion("hi")]) as server:
        OpenAIProvider(server.base_url + "/", env={"OPENAI_API_KEY": "sk-test-0000"}).complete(request(tools=[]))
    (sent,) = server.requests
    assert "tools" not in sent.body
    assert sent.path == "/v1/chat/completions"  # trailing slash of base_url dropped
    assert sent.headers["Authorization"] == "Bearer sk-test-0000"


def test_invalid_json_arguments_reach_the_loop_raw() -> None:
    reply = completion(None, [tool_call("read_file", '{"path": "a.py"', id="c1")])
    with FakeOpenAIServer([reply]) as server:
        response = provider(server).complete(request())
    assert response.tool_uses[0]["input"] == {RAW_ARGUMENTS_KEY: '{"path": "a.py"'}
    assert response.stop_reason == "tool_use"


def test_500_then_success_is_retried() -> None:
    with FakeOpenAIServer([Status(500), completion("recovered")]) as server:
        response = provider(server).complete(request())
    assert response.text == "recovered"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


def test_persistent_503_gives_up_with_provider_error() -> None:
    with FakeOpenAIServer(fallback=Status(503, message="model is loading")) as server:
        with pytest.raises(ProviderError) as info:
            provider(server, max_retries=2).complete(request())
    assert len(server.requests) == 3
    assert info.value.exit_code == 3
    assert "503" in info.value.message and "model is loading" in info.value.message


def test_cut_stream_is_retried_and_then_gives_up() -> None:
    reply = completion("a reply long enough to be cut in the middle")
    with FakeOpenAIServer([Cut(reply), Cut(reply, how="drop"), reply]) as server:
        response = provider(server).complete(request())
    assert response.text == reply["choices"][0]["message"]["content"]
    assert len(server.requests) == 3
    with FakeOpenAIServer(fallback=Cut(reply, after=2)) as server:
        with pytest.raises(ProviderError, match="ended before the model finished"):
            provider(server, max_retries=1).complete(request())
    assert len(server.requests) == 2


def test_stream_with_finish_reason_but_no_done_is_accepted() -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "fine"}, "finish_reason": "stop"}]}]
    with FakeOpenAIServer([Raw(chunks, done=False)]) as server:
        assert provider(server).complete(request()).text == "fine"


def test_error_inside_stream_is_a_provider_error() -> None:
    with FakeOpenAIServer([Cut(completion("some text here"), after=2, how="error")]) as server:
        with pytest.raises(ProviderError, match="the model crashed"):
            provider(server).complete(request())


def test_connection_refused_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ProviderError) as info:
        OpenAIProvider(url, env={}, max_retries=1, retry_backoff=0).complete(request())
    assert f"{url}/chat/completions" in info.value.message
    assert "is the server running?" in info.value.message


@pytest.mark.parametrize("code", [401, 403])
def test_auth_failure(code: int) -> None:
    with FakeOpenAIServer([Status(code, message="invalid api key")]) as server:
        with pytest.raises(AuthenticationError) as info:
            OpenAIProvider(server.base_url, "sk-test-0000", retry_backoff=0, env={}).complete(request())
    assert len(server.requests) == 1
    assert "invalid api key" in info.value.message
    assert "OPENAI_API_KEY" in (info.value.hint or "")


def test_unknown_model_reports_the_server_message() -> None:
    ollama_body = {"error": "model 'qwen9:999b' not found, try pulling it first"}
    with FakeOpenAIServer([Status(404, body=ollama_body), Status(400, body="bad things")]) as server:
        with pytest.raises(ProviderError, match="not found, try pulling it first") as info:
            provider(server).complete(request())
        assert not isinstance(info.value, AuthenticationError)
        with pytest.raises(ProviderError, match="HTTP 400: bad things"):
            provider(server).complete(request())
    assert len(server.requests) == 2  # neither was retried


def test_tool_results_are_sent_as_tool_messages() -> None:
    req = request()
    req.messages += [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "read_file", "input": {"path": "a"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "no such file", "is_error": True}]},
    ]
    with FakeOpenAIServer([completion("ok")]) as server:
        provider(server).complete(req)
    sent = server.requests[0].body["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "c1", "content": "Error: no such file"}
    assert json.loads(sent[-2]["tool_calls"][0]["function"]["arguments"]) == {"path": "a"}
