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
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

from tests.fakes._scripted import RecordedRequest, ScriptedHandler, ScriptedServer, Status, pieces

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


def stream_chunks(data: dict[str, Any], include_usage: bool = True) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` dicts a server would stream for `data`."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    base = {"id": data.get("id"), "object": "chat.completion.chunk", "created": 1700000000, "model": data.get("model")}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    if message.get("content"):
        chunks += [chunk({"content": p}) for p in pieces(message["content"])]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        first = {"index": index, "type": "function", "function": {"name": function["name"], "arguments": ""}}
        if "id" in call:
            first["id"] = call["id"]
        chunks.append(chunk({"tool_calls": [first]}))
        for piece in pieces(function["arguments"], 4):
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


# --- actions (`Status` and `RecordedRequest` come from tests.fakes._scripted) ----------


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


Action = Union[dict[str, Any], Status, Cut, Json, Raw, Callable[[RecordedRequest], Any]]


# --- the server ----------------------------------------------------------------------


class _Handler(ScriptedHandler):
    route = ROUTE
    action_types = (Status, Cut, Json, Raw)

    def error_body(self, code: int, message: str | None = None) -> dict[str, Any]:
        return error_body(code, message)

    def serve(self, action: Any, request: RecordedRequest) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        streaming = body.get("stream") is True
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if isinstance(action, Status):
            payload = action.body if action.body is not None else error_body(action.code, action.message)
            self.send_json(action.code, payload, action.headers)
        elif isinstance(action, Json):
            self.send_json(200, action.completion)
        elif isinstance(action, Raw):
            self._send_sse(action.chunks, done=action.done)
        elif isinstance(action, Cut):
            self._send_cut(action, with_usage)
        elif isinstance(action, dict) and streaming:
            self._send_sse(list(stream_chunks(action, with_usage)))
        elif isinstance(action, dict):
            self.send_json(200, action)
        else:
            self.send_json(500, error_body(500, f"fake server: bad action {action!r}"))

    def _send_sse(self, chunks: list[dict[str, Any] | str], done: bool = True) -> None:
        self.start_sse()
        for chunk in chunks:
            self.chunk(sse(chunk))
        if done:
            self.chunk(sse("[DONE]"))
        self.end_chunks()

    def _send_cut(self, cut: Cut, with_usage: bool) -> None:
        chunks = stream_chunks(cut.completion, with_usage)
        after = len(chunks) // 2 if cut.after is None else cut.after
        self.start_sse()
        for chunk in chunks[:after]:
            self.chunk(sse(chunk))
        if cut.how == "drop":
            self.hang_up_in_chunk(sse(chunks[min(after, len(chunks) - 1)]))
            return
        if cut.how == "error":
            self.chunk(sse({"error": {"message": "fake: the model crashed", "type": "server_error"}}))
        self.end_chunks()


class FakeOpenAIServer(ScriptedServer):
    """A scripted chat-completions API; use as a context manager (see the module docstring).

    Its `base_url` is `http://127.0.0.1:<port>/v1`, as users configure OpenAI-compatible servers.
    """

    handler = _Handler
    url_path = "/v1"


def by_tools(main: list[Action], small: Action | None = None) -> Callable[[RecordedRequest], Any]:
    """A fallback that answers requests without tools (small-model calls) apart from the main loop's."""
    queue = list(main)
    small_action = small if small is not None else completion("[]")

    def answer(request: RecordedRequest) -> Any:
        if isinstance(request.body, dict) and not request.body.get("tools"):
            return small_action
        if not queue:
            return Status(400, message="fake server: main script exhausted")
        return queue.pop(0)

    return answer


def main_requests(server: "FakeOpenAIServer") -> list[RecordedRequest]:
    return [r for r in server.requests if isinstance(r.body, dict) and r.body.get("tools")]
