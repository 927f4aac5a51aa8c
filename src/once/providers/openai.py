"""The `openai` provider: any OpenAI-compatible chat-completions endpoint.

Ollama, vLLM, the llama.cpp server and LM Studio all speak `POST /v1/chat/completions`.
This talks to them with the standard library only (urllib and hand-parsed SSE), and
converts to and from the Anthropic shape with `openai_convert`, so the loop and the
cassettes see exactly what the `anthropic` provider gives them.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping

from once.errors import AuthenticationError, ModelOutputError, ProviderError, ProviderUnavailableError
from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.providers.retry_after import UNAVAILABLE_STATUSES, retry_after_seconds
from once.providers.openai_convert import (
    StreamAccumulator,
    from_openai_response,
    to_openai_messages,
    to_openai_tools,
)
from once.providers.text_tool_calls import promote_text_tool_calls
from once.words import plural

API_KEY_ENV = "OPENAI_API_KEY"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER = 60.0
"""Longest wait a server's Retry-After header can impose, in seconds."""
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# How servers word a failure to parse what the model generated (llama.cpp, vLLM, Ollama).
_MODEL_OUTPUT_FAILURE = re.compile(
    r"pars(e|ing)|tool[ _-]?call|invalid (json|function|tool)|unknown (tool|function)|grammar"
    r"|model produced output|does not match the expected", re.IGNORECASE
)


class _Retryable(Exception):
    """A failure worth sending the whole request again for."""

    def __init__(self, message: str, retry_after: float | None = None, model_output: bool = False,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.model_output = model_output
        self.status = status


class OpenAIProvider:
    """Chat completions over HTTP, streamed (SSE) or not, with bounded retries."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        stream: bool = True,
        max_retries: int = 2,
        retry_backoff: float = 1.0,
        timeout: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        # Local servers need no key, so a missing one is not an error.
        self.api_key = api_key or env.get(API_KEY_ENV) or None
        self.stream = stream
        self.max_retries = max(0, max_retries)
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self._opener = _opener_for(self.url)

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        """Send one request, retrying transient failures; raise `ProviderError` otherwise.

        A retry sends the whole request again, so after a stream cut mid-way `on_text`
        may see the start of the reply twice; the returned response is the final one.
        """
        body = json.dumps(self._body(request)).encode("utf-8")
        tool_names = {tool["name"] for tool in request.tools}
        last = _Retryable("")
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt - 1, last.retry_after))
            try:
                raw = self._send(body, request.model, on_text)
                return ModelResponse(raw=promote_text_tool_calls(raw, tool_names))
            except _Retryable as exc:
                last = exc
        tries = self.max_retries + 1
        gave_up = f"{last.message} (gave up after {plural(tries, 'attempt')})"
        if last.model_output:
            raise ModelOutputError(gave_up)
        if last.status in UNAVAILABLE_STATUSES:  # overloaded or rate limited: temporary
            raise ProviderUnavailableError(gave_up, hint=f"the server at {self.base_url} asks to wait; retry later",
                                           retry_after=last.retry_after, status=last.status)
        raise ProviderError(gave_up, hint=f"check the server at {self.base_url}")

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai_messages(request.system, request.messages),
            "max_tokens": request.max_tokens,
            "stream": self.stream,
        }
        if request.tools:
            body["tools"] = to_openai_tools(request.tools)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = self.retry_backoff * 2**attempt
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _send(self, body: bytes, model: str, on_text: TextCallback | None) -> dict[str, Any]:
        """One HTTP exchange; raises `_Retryable` or a final `ProviderError`."""
        req = urllib.request.Request(self.url, data=body, headers=self._headers(), method="POST")
        try:
            response = self._opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            raise self._connection_error(exc.reason) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._connection_error(exc) from None
        with response:
            try:
                if self.stream and _is_event_stream(response):
                    return _read_stream(response, model, on_text)
                return _read_whole(response, model, on_text)
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, TimeoutError):
                    raise self._timeout() from None
                raise _Retryable(f"the connection to {self.url} broke mid-response: {exc}") from None

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        status = exc.code
        detail = _error_text(_read_quietly(exc))
        message = f"{self.url} answered HTTP {status}: {detail}" if detail else f"{self.url} answered HTTP {status}"
        if status in (401, 403):
            return AuthenticationError(
                message,
                hint=f"set {API_KEY_ENV} to a key this server accepts (local servers usually need none)",
            )
        if status in RETRY_STATUSES:
            model_output = status == 500 and bool(_MODEL_OUTPUT_FAILURE.search(detail or ""))
            return _Retryable(message, retry_after_seconds(exc.headers), model_output, status)
        if status == 404:
            return ProviderError(
                message,
                hint=f"check the model name, and that {self.base_url} is the server's "
                "OpenAI-compatible base URL (usually ending in /v1)",
            )
        return ProviderError(message)

    def _connection_error(self, reason: object) -> Exception:
        if isinstance(reason, TimeoutError):
            return self._timeout()
        # Refused, reset, unreachable: the server may be starting or restarting.
        return _Retryable(f"could not connect to {self.url}: is the server running? ({reason})")

    def _timeout(self) -> ProviderError:
        return ProviderError(
            f"{self.url} did not answer within {self.timeout:g} seconds",
            hint="a large local model may need a longer timeout",
        )


def _opener_for(url: str) -> urllib.request.OpenerDirector:
    """A local server is never reached through an HTTP proxy from the environment."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _is_event_stream(response: http.client.HTTPResponse) -> bool:
    # Some servers ignore `stream` and answer with one JSON body; accept that too.
    return "json" not in (response.headers.get("Content-Type") or "").lower()


def _read_whole(response: http.client.HTTPResponse, model: str, on_text: TextCallback | None) -> dict[str, Any]:
    raw = response.read()
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProviderError(f"the server sent a response that is not JSON: {raw[:200]!r}") from None
    if not isinstance(data, dict) or "error" in data:
        raise ProviderError(f"the server sent an error: {_error_text(raw)}")
    result = from_openai_response(data, model)
    text = "".join(b["text"] for b in result["content"] if b["type"] == "text")
    if on_text and text:
        on_text(text)
    return result


def _read_stream(response: http.client.HTTPResponse, model: str, on_text: TextCallback | None) -> dict[str, Any]:
    """Parse `data: {...}` lines until `data: [DONE]`; a cut stream is retryable."""
    acc = StreamAccumulator()
    done = False
    for line in response:
        text = line.decode("utf-8", errors="replace").strip()
        if not text.startswith("data:"):
            continue  # blank separators, `event:` and `: keep-alive` comments
        payload = text[len("data:") :].strip()
        if payload == "[DONE]":
            done = True
            break
        chunk = _parse_chunk(payload)
        if "error" in chunk:
            detail = _error_text(payload.encode())
            if _MODEL_OUTPUT_FAILURE.search(detail):  # llama.cpp: the model's output did not parse
                raise _Retryable(f"the server could not parse the model's output: {detail}", model_output=True)
            raise ProviderError(f"the server reported an error mid-stream: {detail}")
        delta = acc.feed(chunk)
        if on_text and delta:
            on_text(delta)
    if not done and not acc.finished:
        raise _Retryable("the response stream ended before the model finished")
    return acc.result(model)


def _parse_chunk(payload: str) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except ValueError:
        raise ProviderError(f"the server streamed a chunk that is not JSON: {payload[:200]!r}") from None
    if not isinstance(chunk, dict):
        raise ProviderError(f"the server streamed an unexpected chunk: {payload[:200]!r}")
    return chunk


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, http.client.HTTPException):
        return b""


def _error_text(raw: bytes) -> str:
    """The server's own words: OpenAI `{"error": {"message"}}`, Ollama `{"error": "..."}`, or text."""
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            error = error.get("message") or error.get("detail") or json.dumps(error)
        if isinstance(error, str) and error:
            return error[:500]
        if isinstance(data.get("detail"), str):
            return data["detail"][:500]
    return text[:500]
