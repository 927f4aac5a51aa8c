"""The lifecycle shared by the scripted fake API servers.

A fake is a `ScriptedServer` subclass naming its request handler, a
`ScriptedHandler` subclass that knows the API's route, error shape and how to
serve each kind of action. This module owns the rest: starting and stopping the
127.0.0.1 server thread, recording requests and handler errors, and the action
queue (fallback, repeat_last, a 400 once the script is exhausted).
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


@dataclass
class Status:
    """Answer with an HTTP error status; `body` (dict or text) replaces the error body."""

    code: int
    body: dict[str, Any] | str | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body (None if there was none or it was not JSON)."""


def pieces(text: str, count: int = 3) -> list[str]:
    """Split text into up to `count` non-empty pieces (at least one)."""
    if len(text) <= 1:
        return [text]
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)]


class ScriptedHandler(BaseHTTPRequestHandler):
    """Reads and records each POST, then lets the subclass serve the next action."""

    protocol_version = "HTTP/1.1"
    route: ClassVar[str]
    """The one path the fake answers; others get a 404."""
    action_types: ClassVar[tuple[type, ...]] = ()
    """Action classes that are never called as `(request) -> action` deciders."""
    extra_headers: ClassVar[dict[str, str]] = {}
    """Sent on every response (e.g. a request id the SDK reads)."""
    server: "_HTTPServer"

    def error_body(self, code: int, message: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def serve(self, action: Any, request: RecordedRequest) -> None:
        """Answer `request` with a resolved (non-callable) action."""
        raise NotImplementedError

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
        if self.path.split("?")[0] != self.route:
            self.send_json(404, self.error_body(404, f"fake server has no route {self.path}"))
            return
        action = fake.next_action(request)
        try:
            while callable(action) and not isinstance(action, self.action_types):
                action = action(request)
            self.serve(action, request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing left to tell it

    def send_json(self, code: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for key, value in {**self.extra_headers, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        """Headers of a chunked event stream; follow with `chunk()`s and `end_chunks()`."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        for key, value in self.extra_headers.items():
            self.send_header(key, value)
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def hang_up_in_chunk(self, payload: bytes) -> None:
        """Announce an HTTP chunk, send half of it, and stop: a broken transfer."""
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload[: len(payload) // 2])


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: "ScriptedServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.fake.errors.append(sys.exc_info()[1])


class ScriptedServer:
    """A fake API on a free 127.0.0.1 port answering from a script of actions.

    Use as a context manager. Subclasses set `handler` (their `ScriptedHandler`)
    and `url_path` (appended to `http://host:port` in `base_url`).
    """

    handler: ClassVar[type[ScriptedHandler]]
    url_path: ClassVar[str] = ""

    def __init__(
        self,
        actions: list[Any] | None = None,
        *,
        fallback: Any | None = None,
        repeat_last: bool = False,
    ) -> None:
        self.actions: list[Any] = list(actions or [])
        self.fallback = fallback
        self.repeat_last = repeat_last
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException | None] = []
        """Exceptions raised inside request handlers (should stay empty)."""
        self._served = 0
        self._last: Any | None = None
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running; use it in a `with` block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.url_path}"

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def add(self, *actions: Any) -> None:
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

    def __enter__(self) -> Self:
        self._httpd = _HTTPServer(("127.0.0.1", 0), self.handler)
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
