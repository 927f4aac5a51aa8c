"""The provider seam: one small interface, Anthropic-shaped messages.

Messages and content blocks are plain dicts exactly as the Anthropic Messages API
takes and returns them (`{"role": "user", "content": [{"type": "text", ...}]}`), so
a response can be stored in a cassette as-is and replayed through the same path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

TextCallback = Callable[[str], None]


@dataclass
class Usage:
    """Token counts of one call, as the Anthropic API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Usage":
        """Counts from a response; anything missing, non-numeric or negative counts as 0."""
        data = data if isinstance(data, dict) else {}
        return cls(**{k: _count(data.get(k)) for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in self.__dataclass_fields__})


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return max(int(value), 0)


@dataclass
class ModelRequest:
    """What the loop asks of a model."""

    model: str
    system: str
    """The stable system prompt (cached by providers that can)."""
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    """Tool schemas: `{"name", "description", "input_schema"}`."""
    max_tokens: int = 8192
    temperature: float | None = None
    """None leaves sampling to the server's default."""


@dataclass
class ModelResponse:
    """One model reply, with the raw Anthropic-shaped message it came from."""

    raw: dict[str, Any]
    """Exactly what `POST /v1/messages` returns; this is what cassettes hold."""

    @property
    def content(self) -> list[dict[str, Any]]:
        return list(self.raw.get("content") or [])

    @property
    def stop_reason(self) -> str | None:
        return self.raw.get("stop_reason")

    @property
    def model(self) -> str:
        return str(self.raw.get("model") or "")

    @property
    def usage(self) -> Usage:
        return Usage.from_dict(self.raw.get("usage"))

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]


class Provider(Protocol):
    """A model backend. `complete` raises `ProviderError` (or a subclass) on failure."""

    name: str

    def complete(self, request: ModelRequest, on_text: TextCallback | None = None) -> ModelResponse:
        """Send one request; call `on_text` with text deltas as they stream in."""
        ...
