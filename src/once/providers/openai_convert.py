"""Translate between Anthropic-shaped messages and the OpenAI chat-completions format.

Pure functions, no IO: the `openai` provider sends what `to_openai_messages` and
`to_openai_tools` build, and turns the reply (whole, or streamed chunks fed to a
`StreamAccumulator`) back into an Anthropic Messages API response dict, so the rest
of once (loop, cassettes, events) never sees the OpenAI shape.

Tool arguments that are not valid JSON (small local models produce these) do not
raise: the call is kept, with input `{"_raw_arguments": "<the text>"}`. The tool
registry then rejects that input with an error tool result naming the field, which
tells the model its arguments were malformed, and the loop can spot the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

RAW_ARGUMENTS_KEY = "_raw_arguments"
"""Input key holding tool arguments that were not a JSON object."""

ERROR_PREFIX = "Error: "
"""OpenAI tool messages have no error flag, so failed results say it in words."""

_STOP_REASONS = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


# ---------------------------------------------------------------- requests


def to_openai_messages(system: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic `system` + `messages` -> an OpenAI `messages` list."""
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    for message in messages:
        if message.get("role") == "assistant":
            out.append(_assistant_message(message.get("content")))
        else:
            out.extend(_user_messages(message.get("content")))
    return out


def _blocks(content: Any) -> list[dict[str, Any]]:
    """Content may be a plain string or a list of blocks; always give blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)]


def _user_messages(content: Any) -> list[dict[str, Any]]:
    """Tool results become `tool` messages, placed before the user's own text."""
    tool_messages: list[dict[str, Any]] = []
    texts: list[str] = []
    for block in _blocks(content):
        kind = block.get("type")
        if kind == "tool_result":
            tool_messages.append(_tool_message(block))
        elif kind == "text":
            texts.append(str(block.get("text", "")))
        else:
            texts.append(f"[{kind} content omitted]")
    out = list(tool_messages)
    text = "\n\n".join(t for t in texts if t)
    # A user turn that was only tool results needs no empty user message.
    if text or not tool_messages:
        out.append({"role": "user", "content": text})
    return out


def _tool_message(block: dict[str, Any]) -> dict[str, Any]:
    text = tool_result_text(block.get("content"))
    if block.get("is_error"):
        text = ERROR_PREFIX + text
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}


def tool_result_text(content: Any) -> str:
    """The text of a `tool_result` content: a string or a list of text blocks."""
    parts: list[str] = []
    for block in _blocks(content):
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(f"[{block.get('type')} content omitted]")
    return "\n".join(parts)


def _assistant_message(content: Any) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in _blocks(content):
        if block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            calls.append(_tool_call(block))
    text = "".join(texts)
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""  # some servers reject an assistant turn with nothing
    return message


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    # Always valid JSON, even for a `_raw_arguments` call: servers such as vLLM and
    # Ollama parse past arguments, and would refuse the whole conversation otherwise.
    arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
    return {
        "id": str(block.get("id", "")),
        "type": "function",
        "function": {"name": str(block.get("name", "")), "arguments": arguments},
    }


def to_openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anthropic tool schemas -> OpenAI `tools` entries."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
            },
        }
        for tool in tools
    ]


# ---------------------------------------------------------------- responses


def from_openai_response(data: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat completion -> an Anthropic Messages API response dict."""
    choices = data.get("choices") or [{}]
    choice = choices[0] or {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = _message_text(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    calls = list(message.get("tool_calls") or [])
    if not calls and isinstance(message.get("function_call"), dict):
        calls = [{"function": message["function_call"]}]  # the pre-tools API
    for index, call in enumerate(calls):
        content.append(_tool_use(call, index))
    stop_reason = _STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn")
    if calls:
        stop_reason = "tool_use"
    return {
        "id": str(data.get("id") or _stable_id(data)),
        "type": "message",
        "role": "assistant",
        "model": str(data.get("model") or model),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(data.get("usage")),
    }


def _message_text(content: Any) -> str:
    """Message content is usually a string, but some servers send parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _tool_use(call: dict[str, Any], index: int) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "type": "tool_use",
        "id": str(call.get("id") or f"call_{index}"),
        "name": str(function.get("name") or ""),
        "input": parse_arguments(function.get("arguments")),
    }


def parse_arguments(arguments: Any) -> dict[str, Any]:
    """Tool arguments as a dict; anything but a JSON object is kept raw (see module doc)."""
    if isinstance(arguments, dict):
        return arguments  # some servers (Ollama's native shape) send an object
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return {}
    try:
        parsed = json.loads(arguments)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return {RAW_ARGUMENTS_KEY: str(arguments)}


def _usage(usage: Any) -> dict[str, int]:
    """OpenAI counts cached prompt tokens inside prompt_tokens; Anthropic does not."""
    usage = usage if isinstance(usage, dict) else {}
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    cached = min(cached, prompt)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": _int(usage.get("completion_tokens")),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def _int(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _stable_id(data: dict[str, Any]) -> str:
    """A server that sends no id still gets a deterministic one."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"msg_{digest[:24]}"


# ---------------------------------------------------------------- streaming


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAccumulator:
    """Rebuilds one completion from `chat.completion.chunk` dicts fed in order."""

    id: str = ""
    model: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    _text: list[str] = field(default_factory=list)
    _calls: dict[int, _PartialCall] = field(default_factory=dict)

    def feed(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return the text it adds (possibly "")."""
        self.id = self.id or str(chunk.get("id") or "")
        self.model = self.model or str(chunk.get("model") or "")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]  # the include_usage chunk has no choices
        text = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text += _message_text(delta.get("content"))
            for piece in delta.get("tool_calls") or []:
                self._feed_call(piece)
            if isinstance(delta.get("function_call"), dict):
                self._feed_call({"index": 0, "function": delta["function_call"]})
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        if text:
            self._text.append(text)
        return text

    def _feed_call(self, piece: dict[str, Any]) -> None:
        index = piece.get("index")
        if not isinstance(index, int):
            # Without an index, a new id starts a new call; anything else continues.
            known = {c.id for c in self._calls.values()}
            new = piece.get("id") and piece["id"] not in known
            index = len(self._calls) if new or not self._calls else max(self._calls)
        call = self._calls.setdefault(index, _PartialCall())
        call.id = call.id or str(piece.get("id") or "")
        function = piece.get("function") or {}
        call.name = call.name or str(function.get("name") or "")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if arguments:
            call.arguments.append(str(arguments))

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def result(self, model: str) -> dict[str, Any]:
        """The whole completion so far, as an Anthropic Messages response dict."""
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": "".join(c.arguments)}}
            for _, c in sorted(self._calls.items())
        ]
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text)}
        if calls:
            message["tool_calls"] = calls
        data = {
            "id": self.id,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage,
        }
        return from_openai_response(data, model)
