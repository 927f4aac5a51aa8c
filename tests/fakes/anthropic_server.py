"""A scripted fake of the Anthropic Messages API (`POST /v1/messages`) for tests.

It runs on 127.0.0.1 on a free port, in a daemon thread, and answers each request
with the next scripted action:

    from tests.fakes.anthropic_server import (
        Cut, FakeAnthropicServer, Status, message, text_block, tool_use_block,
    )

    reply = message([text_block("hi"), tool_use_block("toolu_1", "read_file", {"path": "a.py"})])
    with FakeAnthropicServer([Status(429), reply]) as server:
        provider = AnthropicProvider("sk-ant-test-0000", server.base_url)
        ...
        assert len(server.requests) == 2
        assert server.requests[-1].body["stream"] is True

Actions, consumed in order, one per request:

- a response dict (Messages API shape, see `message()`): served as server-sent
  events when the request body has `"stream": true`, else as plain JSON. The SSE
  stream is message_start, ping, per block content_block_start / _delta / _stop
  (text split into several text_delta pieces, tool input JSON split into several
  input_json_delta pieces), message_delta (stop_reason, usage), message_stop.
- `Status(code, body=None, message=None)`: an error status with a body in the
  Anthropic error shape. It carries `retry-after-ms: 1` so the SDK's own retries
  take a millisecond (the SDK ignores a zero wait and falls back to backoff).
- `Cut(response, after=None, how="drop")`: starts streaming `response` and stops
  after `after` events (default: half of them). `how="drop"` closes the connection
  mid-body (the client sees a transport error), `"eof"` ends the body cleanly
  without the remaining events (no message_stop), `"error"` sends an SSE `error`
  event (`error_type`, default overloaded_error) and ends the body.
- a callable `(RecordedRequest) -> action`: decides from the request.

When the script runs out, `fallback` answers (an action or a callable); with
`repeat_last=True` the last action repeats. With neither, the server answers 400
with a message saying the script is exhausted. Every request is recorded in
`.requests` (method, path, headers, parsed JSON body). Each response closes its
connection, so no socket outlives a test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

from tests.fakes._scripted import RecordedRequest, ScriptedHandler, ScriptedServer, Status, pieces

DEFAULT_MODEL = "claude-sonnet-4-6"

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


# --- building responses --------------------------------------------------------------


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(id: str, name: str, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    return {"type": "tool_use", "id": id, "name": name, "input": input}


def message(
    content: list[dict[str, Any]] | str,
    stop_reason: str | None = None,
    usage: dict[str, int] | None = None,
    model: str = DEFAULT_MODEL,
    id: str | None = None,  # noqa: A002
) -> dict[str, Any]:
    """A Messages API response dict.

    `content` may be a plain string (one text block). `stop_reason` defaults to
    "tool_use" when a tool_use block is present, else "end_turn". `usage` keys
    override defaults of 10 input / 5 output / 0 cache tokens. The id is derived
    from the content, so the same content always gives the same message.
    """
    blocks = [text_block(content)] if isinstance(content, str) else list(content)
    if stop_reason is None:
        has_tool = any(b.get("type") == "tool_use" for b in blocks)
        stop_reason = "tool_use" if has_tool else "end_turn"
    full_usage = {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        **(usage or {}),
    }
    digest = hashlib.sha256(json.dumps(blocks, sort_keys=True).encode()).hexdigest()
    return {
        "id": id or f"msg_fake_{digest[:20]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": full_usage,
    }


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind = block.get("type")
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
    elif kind == "tool_use":
        start = {**block, "input": {}}
        raw = json.dumps(block.get("input") or {})
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces(raw, 4)]
    else:  # any other block arrives whole in its start event
        start, deltas = dict(block), []
    events: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
    ]
    for delta in deltas:
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def sse_events(response: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (event name, data) pairs the API would stream for `response`."""
    usage = dict(response.get("usage") or {})
    start_usage = {**usage, "output_tokens": 1}
    start = {**response, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(response.get("content") or []):
        events.extend(_block_events(index, block))
    delta = {"stop_reason": response.get("stop_reason"), "stop_sequence": response.get("stop_sequence")}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage.get("output_tokens", 0)}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(code, "api_error" if code >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message or f"fake {kind} (HTTP {code})"},
        "request_id": "req_fake",
    }


# --- actions (`Status` and `RecordedRequest` come from tests.fakes._scripted) ----------


@dataclass
class Cut:
    """Start streaming `response`, then break off after `after` events."""

    response: dict[str, Any]
    after: int | None = None
    how: Literal["drop", "eof", "error"] = "drop"
    error_type: str = "overloaded_error"


Action = Union[dict[str, Any], Status, Cut, Callable[[RecordedRequest], Any]]


# --- the server ----------------------------------------------------------------------


class _Handler(ScriptedHandler):
    route = "/v1/messages"
    action_types = (Status, Cut)
    extra_headers = {"request-id": "req_fake"}

    def error_body(self, code: int, message: str | None = None) -> dict[str, Any]:
        return error_body(code, message)

    def serve(self, action: Any, request: RecordedRequest) -> None:
        streaming = isinstance(request.body, dict) and request.body.get("stream") is True
        if isinstance(action, Status):
            headers = {"retry-after-ms": "1", "retry-after": "0", **action.headers}
            self.send_json(action.code, action.body or error_body(action.code, action.message), headers)
        elif isinstance(action, Cut):
            self._send_cut(action)
        elif isinstance(action, dict):
            if streaming:
                self._send_sse(sse_events(action))
            else:
                self.send_json(200, action)
        else:
            self.send_json(500, error_body(500, f"fake server: bad action {action!r}"))

    def _send_sse(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.start_sse()
        for name, data in events:
            self.chunk(encode_event(name, data))
        self.end_chunks()

    def _send_cut(self, cut: Cut) -> None:
        events = sse_events(cut.response)
        after = len(events) // 2 if cut.after is None else cut.after
        self.start_sse()
        for name, data in events[:after]:
            self.chunk(encode_event(name, data))
        if cut.how == "drop":
            name, data = events[min(after, len(events) - 1)]
            self.hang_up_in_chunk(encode_event(name, data))
            return
        if cut.how == "error":
            err = {"type": "error", "error": {"type": cut.error_type, "message": "Overloaded"}}
            self.chunk(encode_event("error", err))
        self.end_chunks()


class FakeAnthropicServer(ScriptedServer):
    """A scripted Messages API; use as a context manager (see the module docstring)."""

    handler = _Handler

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The recorded requests to POST /v1/messages."""
        return [r for r in self.requests if r.path.split("?")[0] == _Handler.route]


SMALL_MODEL = "claude-haiku-4-5"


def by_model(main: list[Action], small: Action | None = None) -> Callable[[RecordedRequest], Any]:
    """A fallback that answers the small model (routing, compaction) apart from the main one.

    The main model gets `main`'s actions in order; the small model gets `small` (by default a
    routing answer that picks no skill). Use with `FakeAnthropicServer([], fallback=by_model(...))`.
    """
    queue = list(main)
    small_action = small if small is not None else message("[]")

    def answer(request: RecordedRequest) -> Any:
        if isinstance(request.body, dict) and request.body.get("model") == SMALL_MODEL:
            return small_action(request) if callable(small_action) else small_action
        if not queue:
            return Status(400, message="fake server: main script exhausted")
        return queue.pop(0)

    return answer


def main_requests(server: "FakeAnthropicServer") -> list[RecordedRequest]:
    """The recorded requests of the main model (not the small one)."""
    return [r for r in server.message_requests if isinstance(r.body, dict) and r.body.get("model") != SMALL_MODEL]
