"""How a run talks to its model: edit format, prompt style, sampling.

`auto` settings resolve by provider. Hosted Anthropic models get structured tool calls and
the full prompt. OpenAI-compatible servers are mostly small local models, which do better
with edits written as text, a lean prompt and greedy sampling (see the README's figures).
"""

from __future__ import annotations

from dataclasses import dataclass

from once.agent.attempts import DEFAULT_LEAN_ATTEMPTS
from once.config import Settings

LOCAL_EDIT_FORMAT = "whole"
"""The measured default for OpenAI-compatible servers."""
TEXT_FORMATS = ("blocks", "whole")
LEAN_MAX_TOKENS = 2048
"""Whole small files fit; a runaway reply at 14 tokens a second stops within 2.5 minutes."""


@dataclass(frozen=True)
class ModelProfile:
    edit_format: str
    """tools, blocks or whole."""
    lean: bool
    temperature: float | None
    """None sends no temperature (the server's default)."""
    max_tokens: int
    """Per reply; lean caps the default, since a small model at 0 temperature can repeat itself for minutes."""
    attempts: int = 1
    """Times the task may be tried from the start (see `once.agent.attempts`)."""

    @property
    def text_edits(self) -> bool:
        return self.edit_format in TEXT_FORMATS


def resolve_profile(settings: Settings, provider_name: str) -> ModelProfile:
    local = provider_name == "openai"
    edit_format = settings.edit_format
    if edit_format == "auto":
        edit_format = LOCAL_EDIT_FORMAT if local else "tools"
    style = settings.prompt_style
    lean = local if style == "auto" else style == "lean"
    temperature = settings.temperature
    if temperature is None and local and settings.sources.get("temperature", "default") == "default":
        temperature = 0.0
    max_tokens = settings.max_tokens
    if lean and settings.sources.get("max_tokens", "default") == "default":
        max_tokens = min(max_tokens, LEAN_MAX_TOKENS)
    attempts = settings.attempts if settings.attempts is not None else (DEFAULT_LEAN_ATTEMPTS if lean else 1)
    return ModelProfile(edit_format=edit_format, lean=lean, temperature=temperature, max_tokens=max_tokens,
                        attempts=attempts)
