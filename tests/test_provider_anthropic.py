"""The anthropic provider, through the real SDK, against a local fake Messages API."""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from once.errors import AuthenticationError, ProviderError
from once.providers.anthropic import AnthropicProvider, build_params
from once.providers.base import ModelRequest
from tests.fakes.anthropic_server import (
    Cut,
    FakeAnthropicServer,
    Status,
    message,
    sse_events,
    text_block,
    tool_use_block,
)

KEY = "sk-ant-test-0000"
MODEL = "claude-sonnet-4-6"
TOOLS = [
    {"name": "read_file", "description": "Read a file.", "input_schema": {"type": "object"}},
    {"name": "write_file", "description": "Write a file.", "input_schema": {"type": "object"}},
]
TOOL_INPUT = {"path": "src/app.py", "offset": 10, "limit": 20, "opts": {"tags": ["a", "b"], "note": "héllo"}}
TOOL_REPLY = message(
    [text_block("Let me look at that file first."), tool_use_block("toolu_01", "read_file", TOOL_INPUT)],
    usage={"input_tokens": 12, "output_tokens": 34, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 900},
)
TEXT_REPLY = message("All done: the tests pass now.")


def make_request(**overrides: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "system": "You are a careful coding agent.",
        "messages": [
            {"role": "user", "content": "Fix the bug."},
            {"role": "assistant", "content": [tool_use_block("toolu_00", "read_file", {"path": "a.py"})]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_00", "content": "x = 1"}]},
        ],
        "tools": copy.deepcopy(TOOLS),
        "max_tokens": 1024,
    }
    fields.update(overrides)
    return ModelRequest(**fields)


@contextmanager
def running(actions: list[Any], **provider_kw: Any) -> Iterator[tuple[FakeAnthropicServer, AnthropicProvider]]:
    repeat_last = provider_kw.pop("repeat_last", False)
    provider_kw.setdefault("retry_backoff", 0)
    with FakeAnthropicServer(actions, repeat_last=repeat_last) as server:
        with AnthropicProvider(KEY, server.base_url, **provider_kw) as provider:
            yield server, provider
        assert server.errors == []


# --- streaming and parsing -----------------------------------------------------------


def test_streamed_text_goes_to_on_text_and_the_final_text_is_whole() -> None:
    deltas: list[str] = []
    with running([TEXT_REPLY]) as (server, provider):
        response = provider.complete(make_request(), on_text=deltas.append)
    assert len(deltas) > 1, "the text should arrive in several deltas"
    assert "".join(deltas) == "All done: the tests pass now."
    assert response.text == "All done: the tests pass now."
    assert response.stop_reason == "end_turn"
    assert server.requests[0].body["stream"] is True


def test_tool_input_split_across_json_deltas_is_rebuilt() -> None:
    pieces = [d for name, d in sse_events(TOOL_REPLY) if d.get("delta", {}).get("type") == "input_json_delta"]
    assert len(pieces) > 1, "the fake must split the tool input JSON"
    with running([TOOL_REPLY]) as (_, provider):
        response = provider.complete(make_request())
    assert response.tool_uses == [tool_use_block("toolu_01", "read_file", TOOL_INPUT)]
    assert response.stop_reason == "tool_use"


def test_raw_is_the_exact_messages_api_response() -> None:
    with running([TOOL_REPLY]) as (_, provider):
        response = provider.complete(make_request())
    assert response.raw == TOOL_REPLY
    assert list(response.raw)[:8] == ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"]
    assert "stop_sequence" in response.raw and response.raw["stop_sequence"] is None


def test_usage_includes_cache_tokens() -> None:
    with running([TOOL_REPLY]) as (_, provider):
        usage = provider.complete(make_request()).usage
    assert (usage.input_tokens, usage.output_tokens) == (12, 34)
    assert usage.cache_creation_input_tokens == 1500
    assert usage.cache_read_input_tokens == 900


# --- the request body ----------------------------------------------------------------


def test_request_marks_cache_breakpoints_without_mutating_the_caller() -> None:
    request = make_request()
    before = copy.deepcopy(request)
    with running([TEXT_REPLY]) as (server, provider):
        provider.complete(request)
    body = server.requests[0].body
    assert body["model"] == MODEL and body["max_tokens"] == 1024
    assert body["system"] == [
        {"type": "text", "text": "You are a careful coding agent.", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert all("cache_control" not in str(m) for m in body["messages"][:-1])
    assert request == before, "the caller's request must not be modified"
    assert any(KEY in value for value in server.requests[0].headers.values())


def test_string_content_of_the_last_message_becomes_a_cached_text_block() -> None:
    request = make_request(messages=[{"role": "user", "content": "hello"}], tools=[], system="")
    params = build_params(request)
    assert params["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": {"type": "ephemeral"}}]}
    ]
    assert "system" not in params and "tools" not in params
    assert request.messages == [{"role": "user", "content": "hello"}]


# --- retries -------------------------------------------------------------------------


def test_rate_limit_then_success_is_retried_by_the_sdk() -> None:
    with running([Status(429), TEXT_REPLY]) as (server, provider):
        response = provider.complete(make_request())
    assert response.raw == TEXT_REPLY
    assert len(server.requests) == 2


def test_persistent_overload_fails_with_a_bounded_number_of_requests() -> None:
    with running([Status(529)], repeat_last=True, max_retries=2, stream_retries=2) as (server, provider):
        with pytest.raises(ProviderError) as info:
            provider.complete(make_request())
    assert info.value.exit_code == 3
    assert "overloaded" in info.value.message.lower()
    assert len(server.requests) == 3, "the SDK retries twice; a status error is not a broken stream"


def test_persistent_rate_limit_says_rate_limited() -> None:
    with running([Status(429)], repeat_last=True, max_retries=1) as (server, provider):
        with pytest.raises(ProviderError, match="rate limited"):
            provider.complete(make_request())
    assert len(server.requests) == 2


def test_server_error_then_success() -> None:
    with running([Status(500), TEXT_REPLY]) as (server, provider):
        assert provider.complete(make_request()).text == "All done: the tests pass now."
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "cut",
    [
        Cut(TOOL_REPLY),
        Cut(TOOL_REPLY, how="eof"),
        Cut(TOOL_REPLY, how="error"),
        # Everything but message_stop arrived: still incomplete, still retried.
        Cut(TOOL_REPLY, after=len(sse_events(TOOL_REPLY)) - 1, how="eof"),
    ],
    ids=["drop", "eof", "sse-error", "no-message-stop"],
)
def test_a_stream_cut_midway_is_retried_as_a_whole(cut: Cut) -> None:
    deltas: list[str] = []
    with running([cut, TOOL_REPLY]) as (server, provider):
        response = provider.complete(make_request(), on_text=deltas.append)
    assert response.raw == TOOL_REPLY
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    assert "".join(deltas).endswith("Let me look at that file first.")


def test_a_stream_cut_on_every_attempt_fails_and_returns_nothing() -> None:
    with running([Cut(TOOL_REPLY)], repeat_last=True, stream_retries=2) as (server, provider):
        with pytest.raises(ProviderError) as info:
            provider.complete(make_request())
    assert "3 times" in info.value.message
    assert server.base_url in info.value.message
    assert len(server.requests) == 3


def test_overloaded_sse_error_on_every_attempt_says_overloaded() -> None:
    with running([Cut(TEXT_REPLY, how="error")], repeat_last=True, stream_retries=1) as (server, provider):
        with pytest.raises(ProviderError, match="overloaded"):
            provider.complete(make_request())
    assert len(server.requests) == 2


def test_an_error_in_on_text_propagates_and_is_not_retried() -> None:
    def explode(_: str) -> None:
        raise KeyboardInterrupt

    with running([TEXT_REPLY, TEXT_REPLY]) as (server, provider):
        with pytest.raises(KeyboardInterrupt):
            provider.complete(make_request(), on_text=explode)
    assert len(server.requests) == 1


# --- errors --------------------------------------------------------------------------


def test_refused_key_is_an_authentication_error() -> None:
    with running([Status(401, message="invalid x-api-key")]) as (server, provider):
        with pytest.raises(AuthenticationError) as info:
            provider.complete(make_request())
    assert "ANTHROPIC_API_KEY" in f"{info.value.message} {info.value.hint}"
    assert "refused" in info.value.message
    assert len(server.requests) == 1


def test_unknown_model_reports_the_api_message() -> None:
    with running([Status(404, message="model: claude-nope")]) as (_, provider):
        with pytest.raises(ProviderError) as info:
            provider.complete(make_request(model="claude-nope"))
    assert "claude-nope" in info.value.message and "404" in info.value.message
    assert info.value.hint and "model" in info.value.hint


def test_connection_refused_names_the_base_url() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with AnthropicProvider(KEY, url, max_retries=0, retry_backoff=0) as provider:
        with pytest.raises(ProviderError) as info:
            provider.complete(make_request())
    assert url in info.value.message


def test_no_key_fails_at_construction_without_a_request() -> None:
    with FakeAnthropicServer([TEXT_REPLY]) as server:
        with pytest.raises(AuthenticationError) as info:
            AnthropicProvider(base_url=server.base_url, env={})
        assert server.requests == []
    assert "ANTHROPIC_API_KEY" in info.value.message
    assert "--replay" in info.value.message
    assert info.value.exit_code == 3


def test_base_url_and_key_from_the_environment_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAnthropicServer([TEXT_REPLY]) as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        with AnthropicProvider(retry_backoff=0) as provider:
            assert provider.base_url == server.base_url
            assert provider.complete(make_request()).raw == TEXT_REPLY
        assert len(server.requests) == 1


def test_an_explicit_env_mapping_wins_over_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    with FakeAnthropicServer([TEXT_REPLY]) as server:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.base_url}
        with AnthropicProvider(env=env, retry_backoff=0) as provider:
            assert provider.complete(make_request()).text == "All done: the tests pass now."
        assert len(server.requests) == 1


def test_importing_the_provider_does_not_import_the_sdk() -> None:
    code = "import sys, once.providers.anthropic, once.providers.pricing; print('anthropic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


# --- the fake itself -----------------------------------------------------------------


def test_the_fake_serves_plain_json_to_non_streaming_requests() -> None:
    import anthropic

    with FakeAnthropicServer([TEXT_REPLY]) as server:
        with anthropic.Anthropic(api_key=KEY, base_url=server.base_url, max_retries=0) as client:
            reply = client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert reply.content[0].type == "text" and reply.content[0].text == TEXT_REPLY["content"][0]["text"]
    assert "stream" not in server.requests[0].body


def test_the_fake_answers_400_when_the_script_runs_out() -> None:
    with running([]) as (server, provider):
        with pytest.raises(ProviderError, match="exhausted"):
            provider.complete(make_request())
    assert len(server.requests) == 1
