"""Tool calls written as JSON text are promoted to tool_use blocks only when unambiguous."""

from __future__ import annotations

import json

from once.providers.text_tool_calls import extract_tool_calls, promote_text_tool_calls

TOOLS = {"read_file", "list_files", "edit_file"}
CALL = {"name": "read_file", "arguments": {"path": "a.py"}}


def test_whole_reply_is_one_call():
    assert extract_tool_calls(json.dumps(CALL), TOOLS) == ("", [{"name": "read_file", "input": {"path": "a.py"}}])


def test_list_wrapped_and_line_separated_calls():
    two = [CALL, {"name": "list_files", "parameters": {}}]
    expected = [{"name": "read_file", "input": {"path": "a.py"}}, {"name": "list_files", "input": {}}]
    assert extract_tool_calls(json.dumps(two), TOOLS) == ("", expected)
    assert extract_tool_calls(json.dumps({"tool_calls": two}), TOOLS) == ("", expected)
    assert extract_tool_calls("\n".join(json.dumps(c) for c in two), TOOLS) == ("", expected)
    assert extract_tool_calls(json.dumps({"tool_call": CALL}), TOOLS)[1] == expected[:1]


def test_arguments_as_a_json_string_and_function_wrapper():
    call = {"type": "function", "function": {"name": "read_file", "arguments": json.dumps({"path": "b.py"})}}
    assert extract_tool_calls(json.dumps(call), TOOLS) == ("", [{"name": "read_file", "input": {"path": "b.py"}}])


def test_tagged_and_fenced_calls_keep_the_prose():
    tagged = f"I will read it.\n<tool_call>\n{json.dumps(CALL)}\n</tool_call>"
    assert extract_tool_calls(tagged, TOOLS) == ("I will read it.", [{"name": "read_file", "input": {"path": "a.py"}}])
    fenced = f"Reading now:\n```json\n{json.dumps(CALL)}\n```\n"
    assert extract_tool_calls(fenced, TOOLS)[0] == "Reading now:"


def test_ambiguous_replies_stay_text():
    assert extract_tool_calls("Just an answer.", TOOLS) is None
    assert extract_tool_calls(json.dumps({"name": "rm_rf", "arguments": {}}), TOOLS) is None  # not offered
    assert extract_tool_calls(json.dumps({"name": "read_file", "arguments": "not json"}), TOOLS) is None
    assert extract_tool_calls('{"path": "a.py"}', TOOLS) is None  # no tool name
    bad_tag = f"<tool_call>{json.dumps(CALL)}</tool_call><tool_call>{{oops</tool_call>"
    assert extract_tool_calls(bad_tag, TOOLS) is None
    code_answer = "Use this config:\n```json\n{\"debug\": true}\n```"
    assert extract_tool_calls(code_answer, TOOLS) is None
    extra_json = f"See {{\"x\": 1}} and\n```json\n{json.dumps(CALL)}\n```"
    assert extract_tool_calls(extra_json, TOOLS) is None
    assert extract_tool_calls(json.dumps(CALL), set()) is None


def test_promote_rewrites_the_response_and_leaves_real_tool_calls_alone():
    raw = {"id": "m1", "content": [{"type": "text", "text": json.dumps(CALL)}], "stop_reason": "end_turn"}
    promoted = promote_text_tool_calls(raw, TOOLS)
    assert promoted["stop_reason"] == "tool_use"
    (block,) = promoted["content"]
    assert block["type"] == "tool_use" and block["name"] == "read_file" and block["input"] == {"path": "a.py"}
    assert block["id"].startswith("call_text_") and promote_text_tool_calls(raw, TOOLS)["content"][0]["id"] == block["id"]
    real = {"id": "m2", "content": [{"type": "text", "text": json.dumps(CALL)},
                                    {"type": "tool_use", "id": "x", "name": "list_files", "input": {}}]}
    assert promote_text_tool_calls(real, TOOLS) is real
    assert raw["content"][0]["type"] == "text"  # the input was not mutated


def test_an_unclosed_fence_and_extra_keys_as_small_models_write_them():
    text = '```json\n{\n  "name": "read_file",\n  "arguments": {"path": "hello.py"},\n  "description": "Read it"\n}\n'
    assert extract_tool_calls(text, TOOLS) == ("", [{"name": "read_file", "input": {"path": "hello.py"}}])
    assert extract_tool_calls("```json\n{\"debug\": true}\n", TOOLS) is None
