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
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Literal, Union

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


def _pieces(text: str, count: int = 3) -> list[str]:
    """Split text into up to `count` non-empty pieces (at least one)."""
    if len(text) <= 1:
        return [text]
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _block_events(index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    kind = block.get("type")
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
    elif kind == "tool_use":
        start = {**block, "input": {}}
        raw = json.dumps(block.get("input") or {})
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(raw, 4)]
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


# --- actions -------------------------------------------------------------------------


@dataclass
class Status:
    """Answer with an HTTP error status; `body` replaces the whole error body."""

    code: int
    body: dict[str, Any] | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Cut:
    """Start streaming `response`, then break off after `after` events."""

    response: dict[str, Any]
    after: int | None = None
    how: Literal["drop", "eof", "error"] = "drop"
    error_type: str = "overloaded_error"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body (None if there was none or it was not JSON)."""


Action = Union[dict[str, Any], Status, Cut, Callable[[RecordedRequest], Any]]


# --- the server ----------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_HTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        fake = self.server.fake
        fake.requests.append(request)
        self.close_connection = True
        if self.path.split("?")[0] != "/v1/messages":
            self._send_json(404, error_body(404, f"fake server has no route {self.path}"))
            return
        action = fake.next_action(request)
        try:
            self._serve(action, request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing left to tell it

    def _serve(self, action: Any, request: RecordedRequest) -> None:
        while callable(action) and not isinstance(action, (Status, Cut)):
            action = action(request)
        streaming = isinstance(request.body, dict) and request.body.get("stream") is True
        if isinstance(action, Status):
            headers = {"retry-after-ms": "1", "retry-after": "0", **action.headers}
            self._send_json(action.code, action.body or error_body(action.code, action.message), headers)
        elif isinstance(action, Cut):
            self._send_cut(action)
        elif isinstance(action, dict):
            if streaming:
                self._send_sse(sse_events(action))
            else:
                self._send_json(200, action)
        else:
            self._send_json(500, error_body(500, f"fake server: bad action {action!r}"))

    def _send_json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.send_header("request-id", "req_fake")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.send_header("request-id", "req_fake")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _send_sse(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self._start_sse()
        for name, data in events:
            self._chunk(encode_event(name, data))
        self.wfile.write(b"0\r\n\r\n")

    def _send_cut(self, cut: Cut) -> None:
        events = sse_events(cut.response)
        after = len(events) // 2 if cut.after is None else cut.after
        self._start_sse()
        for name, data in events[:after]:
            self._chunk(encode_event(name, data))
        if cut.how == "drop":
            # Announce a chunk, send half of it, and hang up: a broken transfer.
            name, data = events[min(after, len(events) - 1)]
            payload = encode_event(name, data)
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload[: len(payload) // 2])
            return
        if cut.how == "error":
            err = {"type": "error", "error": {"type": cut.error_type, "message": "Overloaded"}}
            self._chunk(encode_event("error", err))
        self.wfile.write(b"0\r\n\r\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: "FakeAnthropicServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        self.fake.errors.append(sys.exc_info()[1])


class FakeAnthropicServer:
    """A scripted Messages API; use as a context manager (see the module docstring)."""

    def __init__(
        self,
        actions: list[Action] | None = None,
        *,
        fallback: Action | None = None,
        repeat_last: bool = False,
    ) -> None:
        self.actions: list[Action] = list(actions or [])
        self.fallback = fallback
        self.repeat_last = repeat_last
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException | None] = []
        """Exceptions raised inside request handlers (should stay empty)."""
        self._served = 0
        self._last: Action | None = None
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; use it in a `with` block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The recorded requests to POST /v1/messages."""
        return [r for r in self.requests if r.path.split("?")[0] == "/v1/messages"]

    def add(self, *actions: Action) -> None:
        """Append actions to the script (also while running)."""
        with self._lock:
            self.actions.extend(actions)

    def next_action(self, request: RecordedRequest) -> Any:
        with self._lock:
            if self._served < len(self.actions):
                action = self.actions[self._served]
                self._served += 1
                self._last = action
                return action
            if self.fallback is not None:
                return self.fallback
            if self.repeat_last and self._last is not None:
                return self._last
            count = len(self.actions)
        return Status(400, message=f"fake server: script exhausted after {count} responses")

    def __enter__(self) -> "FakeAnthropicServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
