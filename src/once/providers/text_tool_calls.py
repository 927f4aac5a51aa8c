"""Tool calls that a model wrote as JSON text instead of structured `tool_calls`.

Small local models often answer `{"name": "read_file", "arguments": {"path": "a.py"}}` as
plain content, or wrap it in ```json fences or `<tool_call>` tags. These are turned into
tool_use blocks only when that is unambiguous: every JSON candidate names a tool that was
offered and carries an object of arguments, and nothing but prose surrounds them.
Pure functions, no IO.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call)?\s*\n?(.*?)```", re.DOTALL)
# A reply cut off (or ended) before its closing fence: prose, then ```json and the calls.
_UNCLOSED_FENCE = re.compile(r"^(.*?)```(?:json|tool_call)?[ \t]*\n(.*)$", re.DOTALL)


def _as_call(obj: Any, tool_names: set[str]) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    if set(obj) == {"tool_call"}:
        return _as_call(obj["tool_call"], tool_names)
    if obj.get("type") == "function" and isinstance(obj.get("function"), dict):
        return _as_call(obj["function"], tool_names)
    name = obj.get("name")
    arguments = obj.get("arguments", obj.get("parameters", obj.get("input", {})))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return None
    if name not in tool_names or not isinstance(arguments, dict):
        return None
    return {"name": name, "input": arguments}


def _calls_in(payload: str, tool_names: set[str]) -> list[dict[str, Any]] | None:
    """All calls in one JSON payload (an object, a list, or one object per line), or None."""
    payload = payload.strip()
    try:
        data = json.loads(payload)
    except ValueError:
        lines = [line for line in payload.splitlines() if line.strip()]
        if len(lines) < 2:
            return None
        try:
            data = [json.loads(line) for line in lines]
        except ValueError:
            return None
    if isinstance(data, dict) and isinstance(data.get("tool_calls"), list):
        data = data["tool_calls"]
    items = data if isinstance(data, list) else [data]
    calls = [_as_call(item, tool_names) for item in items]
    if not calls or any(call is None for call in calls):
        return None
    return calls  # type: ignore[return-value]


def extract_tool_calls(text: str, tool_names: set[str]) -> tuple[str, list[dict[str, Any]]] | None:
    """(remaining prose, calls) when `text` unambiguously holds tool calls, else None."""
    if not text.strip() or not tool_names:
        return None
    whole = _calls_in(text, tool_names)
    if whole is not None:
        return "", whole
    unclosed = _UNCLOSED_FENCE.match(text)
    if unclosed and "```" not in unclosed.group(2):
        found = _calls_in(unclosed.group(2), tool_names)
        if found is not None:
            return unclosed.group(1).strip(), found
    for pattern in (_TAGGED, _FENCED):
        blocks = pattern.findall(text)
        if not blocks:
            continue
        calls: list[dict[str, Any]] = []
        for block in blocks:
            found = _calls_in(block, tool_names)
            if found is None:
                return None  # one unreadable candidate makes the whole reply ambiguous
            calls.extend(found)
        prose = pattern.sub("", text).strip()
        if "{" in prose:
            return None  # more JSON-looking text outside the blocks: not sure what was meant
        return prose, calls
    return None


def promote_text_tool_calls(raw: dict[str, Any], tool_names: set[str]) -> dict[str, Any]:
    """An Anthropic-shaped response with text-encoded calls turned into tool_use blocks."""
    content = raw.get("content") or []
    if any(block.get("type") == "tool_use" for block in content):
        return raw
    text = "".join(block.get("text", "") for block in content if block.get("type") == "text")
    found = extract_tool_calls(text, tool_names)
    if found is None:
        return raw
    prose, calls = found
    blocks: list[dict[str, Any]] = [{"type": "text", "text": prose}] if prose else []
    for index, call in enumerate(calls):
        digest = hashlib.sha256(json.dumps([raw.get("id"), index, call], sort_keys=True).encode()).hexdigest()
        blocks.append({"type": "tool_use", "id": f"call_text_{digest[:16]}", **call})
    return {**raw, "content": blocks, "stop_reason": "tool_use"}
