"""The `small_model` role: one cheap question, one text answer.

Routing, file selection, judging and compaction call a `SmallAsk`; offline (replay
without `--replay-small`) there is none and each caller takes its deterministic path.
"""

from __future__ import annotations

from typing import Callable

from once.providers.base import ModelRequest, Provider

SmallAsk = Callable[[str, str], str]
"""(system prompt, question) -> the model's text answer. Raises ProviderError on failure."""


def small_ask(provider: Provider, model: str, *, max_tokens: int = 1024) -> SmallAsk:
    def ask(system: str, question: str) -> str:
        request = ModelRequest(model=model, system=system, max_tokens=max_tokens,
                               messages=[{"role": "user", "content": [{"type": "text", "text": question}]}])
        return provider.complete(request).text

    return ask
