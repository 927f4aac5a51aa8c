"""A scripted fake of an OpenAI-compatible `POST /v1/chat/completions` for tests.

It runs on 127.0.0.1 on a free port, in a daemon thread, and answers each request
with the next scripted action:

    from tests.fakes.openai_server import Cut, FakeOpenAIServer, Status, completion, tool_call

    reply = completion("Reading it.", [tool_call("read_file", {"path": "a.py"}, id="call_1")])
    with FakeOpenAIServer([Status(500), reply]) as server:
        provider = OpenAIProvider(server.base_url, retry_backoff=0)   # base_url ends in /v1
        ...
        assert len(server.requests) == 2
        assert server.requests[-1].body["stream"] is True

Actions, consumed in order, one per request:

- a completion dict (`chat.completion` shape, see `completion()`): served as plain
  JSON, or as server-sent events (`data: {chunk}` ... `data: [DONE]`) when the
  request body has `"stream": true`. The stream sends the role, the text in several
  content pieces, each tool call as a first piece (id, name) then its arguments in
  several pieces, a finish_reason chunk, and, when the request asked for
  `stream_options.include_usage`, a usage chunk with no choices.
- `Json(completion)`: the completion as plain JSON even to a streaming request
  (some servers ignore `stream`).
- `Raw(chunks, done=True)`: stream exactly these chunk dicts (then `[DONE]`).
- `Status(code, body=None, message=None, headers={})`: an error status; the body
  defaults to the OpenAI error shape `{"error": {"message", "type", "code"}}`.
- `Cut(completion, after=None, how="eof")`: starts streaming and stops after
  `after` chunks (default: half). `"eof"` ends the body cleanly with no
  finish_reason and no `[DONE]`; `"drop"` hangs up in the middle of an HTTP chunk;
  `"error"` sends a `data: {"error": ...}` chunk and ends.
- a callable `(RecordedRequest) -> action`: decides from the request.

When the script runs out, `fallback` answers (an action or a callable); with
`repeat_last=True` the last action repeats; with neither, a 400 says the script is
exhausted. Every request is recorded in `.requests`. Each response closes its
connection, so no socket outlives a test.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Literal, Union

DEFAULT_MODEL = "qwen2.5-coder:7b"
ROUTE = "/v1/chat/completions"

# --- building completions ------------------------------------------------------------


def tool_call(name: str, arguments: dict[str, Any] | str, id: str | None = None) -> dict[str, Any]:  # noqa: A002
    """One OpenAI tool call; a str `arguments` is sent verbatim (e.g. broken JSON)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": args}}
    if id is not None:
        call["id"] = id
    return call


def completion(
    text: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    *,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    no_usage: bool = False,
    model: str = DEFAULT_MODEL,
    id: str | None = None,  # noqa: A002
) -> dict[str, Any]:
    """A `chat.completion` dict.

    `finish_reason` defaults to "tool_calls" when there are tool calls, else "stop".
    `usage` keys override 12 prompt / 7 completion tokens; `no_usage=True` leaves
    usage out, as some servers do. The id is derived from the content.
    """
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if finish_reason is None:
        finish_reason = "tool_calls" if tool_calls else "stop"
    digest = hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()
    data: dict[str, Any] = {
        "id": id or f"chatcmpl-fake{digest[:16]}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    }
    if not no_usage:
        data["usage"] = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19, **(usage or {})}
    return data


def _pieces(text: str, count: int = 3) -> list[str]:
    """Split text into up to `count` non-empty pieces (at least one)."""
    if len(text) <= 1:
        return [text]
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_chunks(data: dict[str, Any], include_usage: bool = True) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` dicts a server would stream for `data`."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    base = {"id": data.get("id"), "object": "chat.completion.chunk", "created": 1700000000, "model": data.get("model")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if message.get("content"):
        chunks += [chunk({"content": p}) for p in _pieces(message["content"])]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        first = {"index": index, "type": "function", "function": {"name": function["name"], "arguments": ""}}
        if "id" in call:
            first["id"] = call["id"]
        chunks.append(chunk({"tool_calls": [first]}))
        for piece in _pieces(function["arguments"], 4):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, choice.get("finish_reason")))
    if include_usage and data.get("usage"):
        chunks.append({**base, "choices": [], "usage": data["usage"]})
    return chunks


def sse(chunk: dict[str, Any] | str) -> bytes:
    payload = chunk if isinstance(chunk, str) else json.dumps(chunk)
    return f"data: {payload}\n\n".encode()


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    kind = "server_error" if code >= 500 else "invalid_request_error"
    return {"error": {"message": message or f"fake error (HTTP {code})", "type": kind, "code": code}}


# --- actions -------------------------------------------------------------------------


@dataclass
class Status:
    """Answer with an HTTP error status; `body` (dict or text) replaces the error body."""

    code: int
    body: dict[str, Any] | str | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Cut:
    """Start streaming `completion`, then break off after `after` chunks."""

    completion: dict[str, Any]
    after: int | None = None
    how: Literal["eof", "drop", "error"] = "eof"


@dataclass
class Json:
    """Serve `completion` as plain JSON whatever the request asked for."""

    completion: dict[str, Any]


@dataclass
class Raw:
    """Stream exactly these chunks (dicts as JSON, strings verbatim after `data: `)."""

    chunks: list[dict[str, Any] | str]
    done: bool = True


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body (None if there was none or it was not JSON)."""


Action = Union[dict[str, Any], Status, Cut, Json, Raw, Callable[[RecordedRequest], Any]]
_PLAIN = (Status, Cut, Json, Raw)


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
        fake.record(request)
        self.close_connection = True
        if self.path.split("?")[0] != ROUTE:
            self._send_json(404, error_body(404, f"fake server has no route {self.path}"))
            return
        try:
            self._serve(fake.next_action(request), request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing left to tell it

    def _serve(self, action: Any, request: RecordedRequest) -> None:
        while callable(action) and not isinstance(action, _PLAIN):
            action = action(request)
        body = request.body if isinstance(request.body, dict) else {}
        streaming = body.get("stream") is True
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if isinstance(action, Status):
            payload = action.body if action.body is not None else error_body(action.code, action.message)
            self._send_json(action.code, payload, action.headers)
        elif isinstance(action, Json):
            self._send_json(200, action.completion)
        elif isinstance(action, Raw):
            self._send_sse(action.chunks, done=action.done)
        elif isinstance(action, Cut):
            self._send_cut(action, with_usage)
        elif isinstance(action, dict) and streaming:
            self._send_sse(list(stream_chunks(action, with_usage)))
        elif isinstance(action, dict):
            self._send_json(200, action)
        else:
            self._send_json(500, error_body(500, f"fake server: bad action {action!r}"))

    def _send_json(self, code: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        kind = "text/plain" if isinstance(body, str) else "application/json"
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
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
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _send_sse(self, chunks: list[dict[str, Any] | str], done: bool = True) -> None:
        self._start_sse()
        for chunk in chunks:
            self._chunk(sse(chunk))
        if done:
            self._chunk(sse("[DONE]"))
        self.wfile.write(b"0\r\n\r\n")

    def _send_cut(self, cut: Cut, with_usage: bool) -> None:
        chunks = stream_chunks(cut.completion, with_usage)
        after = len(chunks) // 2 if cut.after is None else cut.after
        self._start_sse()
        for chunk in chunks[:after]:
            self._chunk(sse(chunk))
        if cut.how == "drop":
            # Announce an HTTP chunk, send half of it, and hang up: a broken transfer.
            payload = sse(chunks[min(after, len(chunks) - 1)])
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload[: len(payload) // 2])
            return
        if cut.how == "error":
            self._chunk(sse({"error": {"message": "fake: the model crashed", "type": "server_error"}}))
        self.wfile.write(b"0\r\n\r\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: "FakeOpenAIServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.fake.errors.append(sys.exc_info()[1])


class FakeOpenAIServer:
    """A scripted chat-completions API; use as a context manager (see the module docstring)."""

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
        """`http://127.0.0.1:<port>/v1`, as users configure OpenAI-compatible servers."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; use it in a `with` block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

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

    def __enter__(self) -> "FakeOpenAIServer":
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
