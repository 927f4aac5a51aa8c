"""The `anthropic` provider: the Messages API through the official SDK, streamed.

The SDK is imported lazily (inside methods) so that starting `agent` stays fast.

Retries happen at two levels:

- Before a stream starts, the SDK retries 429 / 529 / 5xx / connection errors
  itself (`max_retries`), honouring `retry-after` headers.
- A stream that breaks mid-way (transport error, an SSE `error` event such as
  overloaded_error, or a body that ends before `message_stop`) is retried as a
  whole request up to `stream_retries` more times, sleeping
  `retry_backoff * 2**attempt` seconds between attempts.

Text deltas go to `on_text` live, as they arrive. When an attempt breaks and is
retried, the text it already streamed cannot be taken back, so a live display may
show a partial reply followed by the full retried one. The returned
`ModelResponse` only ever holds a message that streamed to `message_stop`, so no
tool_use from a partial response is ever returned.
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from typing import TYPE_CHECKING, Any, Mapping

from once.errors import AuthenticationError, OnceError, ProviderError, ProviderUnavailableError
from once.providers.base import ModelRequest, ModelResponse, TextCallback
from once.providers.retry_after import retry_after_seconds

if TYPE_CHECKING:
    import anthropic

DEFAULT_BASE_URL = "https://api.anthropic.com"
CACHE_CONTROL: dict[str, str] = {"type": "ephemeral"}
# Block types the API accepts a cache_control marker on.
_CACHEABLE_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result"})
# The order of keys in a Messages API response, for faithful cassettes.
_RESPONSE_KEYS = ("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")

NO_KEY_MESSAGE = (
    "No Anthropic API key: set ANTHROPIC_API_KEY. "
    "Or use `--provider openai --base-url URL` for a local OpenAI-compatible server, "
    "`--replay FILE` to replay a cassette, or `agent demo` to see the loop offline."
)


# --- pure helpers --------------------------------------------------------------------


def _mark_last_block(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of `message` whose last content block carries cache_control."""
    marked = copy.deepcopy(message)
    content = marked.get("content")
    if isinstance(content, str):
        if content:
            marked["content"] = [{"type": "text", "text": content, "cache_control": dict(CACHE_CONTROL)}]
        return marked
    if isinstance(content, list) and content:
        last = content[-1]
        empty_text = last.get("type") == "text" and not last.get("text")
        if last.get("type") in _CACHEABLE_BLOCKS and not empty_text:
            last["cache_control"] = dict(CACHE_CONTROL)
    return marked


def build_params(request: ModelRequest) -> dict[str, Any]:
    """The keyword arguments for `messages.stream`, with prompt-cache breakpoints.

    Breakpoints (three of the API's four): the system prompt, the last tool schema
    (caching all tools), and the last block of the last message (caching the
    conversation so far). The caller's objects are never modified.
    """
    messages = [copy.deepcopy(m) for m in request.messages]
    if messages:
        messages[-1] = _mark_last_block(messages[-1])
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    }
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.system:
        params["system"] = [{"type": "text", "text": request.system, "cache_control": dict(CACHE_CONTROL)}]
    if request.tools:
        tools = copy.deepcopy(request.tools)
        tools[-1]["cache_control"] = dict(CACHE_CONTROL)
        params["tools"] = tools
    return params


def message_to_raw(message: Any) -> dict[str, Any]:
    """A final SDK message as the plain dict `POST /v1/messages` would return."""
    dumped: dict[str, Any] = message.model_dump(mode="json", exclude_none=True)
    # The API always sends stop_sequence, null or not.
    dumped["stop_sequence"] = getattr(message, "stop_sequence", None)
    ordered = {key: dumped[key] for key in _RESPONSE_KEYS if key in dumped}
    ordered.update({k: v for k, v in dumped.items() if k not in ordered})
    ordered["content"] = [{"type": b.get("type"), **b} for b in ordered.get("content") or []]
    return ordered


def _api_message(err: Any) -> str:
    text = getattr(err, "api_message", None) or getattr(err, "message", None) or str(err)
    return str(text).strip().rstrip(".")


def _status_error(err: Any, retries: int) -> ProviderError:
    status = int(getattr(err, "status_code", 0) or 0)
    detail = _api_message(err)
    if status in (401, 403):
        return AuthenticationError(
            f"The Anthropic API refused the API key (HTTP {status}: {detail}).",
            hint="Check ANTHROPIC_API_KEY: it must be a valid, active Anthropic API key.",
        )
    wait = retry_after_seconds(getattr(getattr(err, "response", None), "headers", None))
    if status == 429:
        return ProviderUnavailableError(
            f"The Anthropic API rate limited this request (still refused after {retries} retries).",
            hint="Wait a minute and try again.", retry_after=wait, status=status,
        )
    if status in (503, 529) or getattr(err, "type", None) == "overloaded_error":
        return ProviderUnavailableError(
            f"The Anthropic API is overloaded right now (HTTP {status}). Retry later.",
            hint="Overload is temporary; waiting a few minutes usually helps.", retry_after=wait, status=status,
        )
    if status >= 500:
        return ProviderError(
            f"The Anthropic API failed with HTTP {status} (still failing after {retries} retries): {detail}.",
            hint="This is a server-side problem; retry later.",
        )
    hints = {
        404: "Check the model name (`--model`, or `model` in the config).",
        413: "The request is too large; start a new session or shorten the conversation.",
    }
    return ProviderError(
        f"The Anthropic API rejected the request (HTTP {status}): {detail}.", hint=hints.get(status)
    )


def map_error(err: Exception, *, base_url: str, retries: int = 0, timeout: float = 0.0) -> OnceError:
    """Turn an SDK exception into a once error with a message a user can act on."""
    import anthropic

    if isinstance(err, anthropic.APIStatusError):
        return _status_error(err, retries)
    if isinstance(err, anthropic.APITimeoutError):
        return ProviderError(
            f"The request to the Anthropic API at {base_url} timed out (limit {timeout:g}s).",
            hint="Retry, or check the network.",
        )
    if isinstance(err, anthropic.APIConnectionError):
        return ProviderError(
            f"Could not connect to the Anthropic API at {base_url}.",
            hint="Check the network, or ANTHROPIC_BASE_URL if you set it.",
        )
    return ProviderError(f"The Anthropic API call failed: {type(err).__name__}: {err}")


class _StreamBroken(Exception):
    """A stream ended before `message_stop`; `cause` says why (None: the body just ended)."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(str(cause) if cause else "stream ended before message_stop")
        self.cause = cause


# --- the provider --------------------------------------------------------------------


class AnthropicProvider:
    """Streams Messages API calls; see the module docstring for retries and on_text."""

    name = "anthropic"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 2,
        stream_retries: int = 2,
        retry_backoff: float = 1.0,
        timeout: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if env is None else env
        key = api_key or environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise AuthenticationError(NO_KEY_MESSAGE)
        self.api_key = key
        # Resolved here (not left to the SDK) so that `env` is the only source.
        self.base_url = (base_url or environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_retries = max_retries
        self.stream_retries = stream_retries
        self.retry_backoff = retry_backoff
        self.timeout = timeout
        self._client: anthropic.Anthropic | None = None

    def _get_client(self) -> anthropic.Anthropic:
        if self._client is None:
            import anthropic

            self._client = anthropic.Anthropic(
                api_key=self.api_key,
                base_url=self.base_url,
                max_retries=self.max_retries,
                timeout=anthropic.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            )
        return self._client

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "AnthropicProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        """Send one request, streaming text to `on_text`; raise ProviderError on failure."""
        import anthropic

        params = build_params(request)
        client = self._get_client()
        broken = _StreamBroken(None)
        for attempt in range(self.stream_retries + 1):
            if attempt:
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            try:
                return ModelResponse(raw=self._attempt(client, params, on_text))
            except _StreamBroken as err:
                broken = err
            except anthropic.AnthropicError as err:
                # Raised before the stream started: the SDK has already retried.
                raise map_error(err, base_url=self.base_url, retries=self.max_retries, timeout=self.timeout) from err
        raise self._broken_error(broken) from broken.cause

    def _attempt(self, client: anthropic.Anthropic, params: dict[str, Any], on_text: TextCallback | None) -> dict[str, Any]:
        """One streamed request; raises _StreamBroken if it stops before message_stop."""
        with warnings.catch_warnings():
            # The SDK warns about deprecated model names; a chosen model is the user's call.
            warnings.simplefilter("ignore", DeprecationWarning)
            manager = client.messages.stream(**params)
        with manager as stream:  # sends the request; status errors raise here
            events = iter(stream)
            finished = False
            while True:
                try:
                    event = next(events)
                except StopIteration:
                    break
                except Exception as err:  # transport error, SSE error event, bad data
                    raise _StreamBroken(err) from err
                if event.type == "message_stop":
                    finished = True
                elif on_text is not None and event.type == "content_block_delta" and event.delta.type == "text_delta":
                    on_text(event.delta.text)  # outside the try: a callback error is not a broken stream
            if not finished:
                raise _StreamBroken(None)
            return message_to_raw(stream.get_final_message())

    def _broken_error(self, broken: _StreamBroken) -> ProviderError:
        tries = self.stream_retries + 1
        times = "once" if tries == 1 else f"{tries} times"
        cause = broken.cause
        if cause is not None and getattr(cause, "type", None) == "overloaded_error":
            return ProviderUnavailableError(
                f"The Anthropic API is overloaded: the response stream was cut off {times}. Retry later.",
                hint="Overload is temporary; waiting a few minutes usually helps.",
            )
        reason = "it ended early" if cause is None else f"{type(cause).__name__}: {cause}"
        return ProviderError(
            f"The response stream from {self.base_url} broke off {times} ({reason[:200]}).",
            hint="Check the network, then retry.",
        )
