"""Conversion between Anthropic-shaped messages and OpenAI chat completions (pure)."""

from __future__ import annotations

import json
from typing import Any

from once.providers.base import ModelResponse
from once.providers.openai_convert import (
    RAW_ARGUMENTS_KEY,
    StreamAccumulator,
    from_openai_response,
    to_openai_messages,
    to_openai_tools,
)
from tests.fakes.openai_server import completion, stream_chunks, tool_call

SYSTEM = "You are a careful coding agent."

CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "The test for add() fails. Fix it."},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me look at the code and run the tests."},
            {"type": "tool_use", "id": "call_a", "name": "read_file", "input": {"path": "calc.py"}},
            {"type": "tool_use", "id": "call_b", "name": "run_command", "input": {"command": "pytest -q"}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_a", "content": "def add(a, b):\n    return a - b\n"},
            {
                "type": "tool_result",
                "tool_use_id": "call_b",
                "content": [{"type": "text", "text": "1 failed"}, {"type": "text", "text": "exit code 1"}],
                "is_error": True,
            },
            {"type": "text", "text": "Keep the change small."},
        ],
    },
]


def test_conversation_becomes_openai_messages() -> None:
    out = to_openai_messages(SYSTEM, CONVERSATION)
    assert out == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "The test for add() fails. Fix it."},
        {
            "role": "assistant",
            "content": "Let me look at the code and run the tests.",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "calc.py"}'}},
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "run_command", "arguments": '{"command": "pytest -q"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "def add(a, b):\n    return a - b\n"},
        {"role": "tool", "tool_call_id": "call_b", "content": "Error: 1 failed\nexit code 1"},
        {"role": "user", "content": "Keep the change small."},
    ]


def test_round_trip_of_parallel_tool_calls() -> None:
    """An OpenAI reply -> Anthropic blocks -> back to OpenAI gives the same calls."""
    calls = [
        tool_call("read_file", {"path": "calc.py"}, id="call_a"),
        tool_call("run_command", {"command": "pytest -q"}, id="call_b"),
    ]
    data = completion("Let me look at the code and run the tests.", calls)
    raw = from_openai_response(data, "m")
    assert raw["content"] == CONVERSATION[1]["content"]
    assert raw["stop_reason"] == "tool_use"
    again = to_openai_messages("", [{"role": "assistant", "content": raw["content"]}])
    assert [json.loads(c["function"]["arguments"]) for c in again[0]["tool_calls"]] == [
        {"path": "calc.py"},
        {"command": "pytest -q"},
    ]
    assert [c["id"] for c in again[0]["tool_calls"]] == ["call_a", "call_b"]


def test_tool_only_user_turn_has_no_empty_user_message() -> None:
    messages = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "ok"}]}]
    assert to_openai_messages("", messages) == [{"role": "tool", "tool_call_id": "x", "content": "ok"}]


def test_assistant_with_only_tool_use_has_null_content() -> None:
    messages = [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]}]
    (message,) = to_openai_messages("", messages)
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["arguments"] == "{}"


def test_tools_schema() -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    tools = [{"name": "read_file", "description": "Read a file.", "input_schema": schema}]
    assert to_openai_tools(tools) == [
        {"type": "function", "function": {"name": "read_file", "description": "Read a file.", "parameters": schema}}
    ]


def test_text_response_shape_and_usage() -> None:
    raw = from_openai_response(completion("Done.", usage={"prompt_tokens": 100, "completion_tokens": 9}), "m")
    assert raw["type"] == "message" and raw["role"] == "assistant"
    assert raw["model"] == "qwen2.5-coder:7b"
    assert raw["content"] == [{"type": "text", "text": "Done."}]
    assert raw["stop_reason"] == "end_turn" and raw["stop_sequence"] is None
    assert raw["usage"] == {
        "input_tokens": 100,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert raw["id"].startswith("chatcmpl-")


def test_missing_usage_is_zero_and_missing_ids_are_generated() -> None:
    data = completion(None, [tool_call("a", {}), tool_call("b", {})], no_usage=True)
    del data["id"], data["model"]
    raw = from_openai_response(data, "fallback-model")
    assert raw["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert [b["id"] for b in raw["content"]] == ["call_0", "call_1"]
    assert raw["model"] == "fallback-model"
    assert raw["id"].startswith("msg_") and raw["id"] == from_openai_response(data, "fallback-model")["id"]


def test_cached_prompt_tokens_are_reported_as_cache_reads() -> None:
    usage = {"prompt_tokens": 50, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 20}}
    raw = from_openai_response(completion("x", usage=usage), "m")
    assert raw["usage"]["input_tokens"] == 30
    assert raw["usage"]["cache_read_input_tokens"] == 20


def test_finish_reason_mapping() -> None:
    def stop(reason: str) -> str:
        return from_openai_response(completion("x", finish_reason=reason), "m")["stop_reason"]

    assert stop("stop") == "end_turn"
    assert stop("length") == "max_tokens"
    assert stop("tool_calls") == "tool_use"
    assert stop("function_call") == "tool_use"
    # Tool calls win over whatever finish_reason says (some servers send "stop").
    data = completion(None, [tool_call("a", {"x": 1})], finish_reason="stop")
    assert from_openai_response(data, "m")["stop_reason"] == "tool_use"


def test_invalid_json_arguments_are_kept_raw() -> None:
    data = completion(None, [tool_call("edit_file", '{"path": "a.py", "old', id="c1")])
    raw = from_openai_response(data, "m")
    (block,) = raw["content"]
    assert block == {"type": "tool_use", "id": "c1", "name": "edit_file", "input": {RAW_ARGUMENTS_KEY: '{"path": "a.py", "old'}}
    # A JSON value that is not an object is also raw; empty arguments mean no input.
    data = completion(None, [tool_call("a", "[1, 2]"), tool_call("b", "")])
    inputs = [b["input"] for b in from_openai_response(data, "m")["content"]]
    assert inputs == [{RAW_ARGUMENTS_KEY: "[1, 2]"}, {}]
    # Sent back to a server, the call is still valid JSON (servers parse past calls).
    (message,) = to_openai_messages("", [{"role": "assistant", "content": raw["content"]}])
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == block["input"]


def test_accumulator_rebuilds_streamed_text_and_tool_calls() -> None:
    calls = [tool_call("read_file", {"path": "src/calc.py"}, id="c1"), tool_call("search", {"pattern": "def add"}, id="c2")]
    data = completion("Looking at both.", calls)
    acc = StreamAccumulator()
    deltas = [acc.feed(chunk) for chunk in stream_chunks(data)]
    assert "".join(deltas) == "Looking at both."
    assert len([d for d in deltas if d]) > 1  # text really arrived in pieces
    assert acc.finished
    assert acc.result("m") == from_openai_response(data, "m")


def test_accumulator_handles_pieces_without_choices_or_index() -> None:
    chunks: list[dict[str, Any]] = [
        {"id": "s1", "model": "llama", "choices": []},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"id": "x", "function": {"name": "write_file"}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": '{"path": '}}]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"function": {"arguments": '"a.txt"}'}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 11}},
    ]
    acc = StreamAccumulator()
    assert [acc.feed(c) for c in chunks] == [""] * len(chunks)
    raw = acc.result("fallback")
    assert raw["id"] == "s1" and raw["model"] == "llama"
    assert raw["content"] == [{"type": "tool_use", "id": "x", "name": "write_file", "input": {"path": "a.txt"}}]
    assert raw["usage"]["input_tokens"] == 40 and raw["usage"]["output_tokens"] == 11


def test_accumulator_result_works_with_model_response() -> None:
    acc = StreamAccumulator()
    acc.feed({"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "length"}]})
    response = ModelResponse(raw=acc.result("m"))
    assert response.text == "hi" and response.stop_reason == "max_tokens"
    assert response.model == "m" and response.usage.input_tokens == 0
