"""Model providers behind one interface (see `base.Provider`).

Heavy SDKs are imported only when their provider is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from once.errors import UsageError
from once.providers.base import ModelRequest, ModelResponse, Provider, Usage

PROVIDER_NAMES = ("anthropic", "openai", "replay")

__all__ = ["ModelRequest", "ModelResponse", "PROVIDER_NAMES", "Provider", "Usage", "make_provider"]


def make_provider(
    kind: str,
    *,
    replay: Path | None = None,
    record: Path | None = None,
    base_url: str | None = None,
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
) -> Provider:
    """Build the provider for the `model` role; `replay` wins over `kind`.

    `base_url` is the server of the chosen provider: for `anthropic` pass it only when the
    user gave it for this run (`ANTHROPIC_BASE_URL` is read from `env` otherwise).
    """
    env = os.environ if env is None else env
    provider: Provider
    if replay is not None:
        from once.providers.replay import ReplayProvider

        provider = ReplayProvider(replay)
    elif kind == "anthropic":
        from once.providers.anthropic import AnthropicProvider

        provider = AnthropicProvider(base_url=base_url, timeout=timeout, env=env)
    elif kind == "openai":
        if not base_url:
            raise UsageError(
                "the openai provider needs a server address",
                hint="Pass --base-url, e.g. --base-url http://127.0.0.1:11434/v1 for Ollama.",
            )
        from once.providers.openai import OpenAIProvider

        provider = OpenAIProvider(base_url, timeout=timeout, env=env)
    elif kind == "replay":
        raise UsageError("the replay provider needs a cassette", hint="Pass --replay FILE.")
    else:
        raise UsageError(f"unknown provider '{kind}'", hint=f"Choose one of: {', '.join(PROVIDER_NAMES)}.")
    if record is not None:
        from once.providers.replay import RecordingProvider

        provider = RecordingProvider(provider, record)
    return provider
