"""The `small_model` role: one cheap question, one text answer.

Routing, file selection, judging and compaction call a `SmallAsk`; offline (replay
without `--replay-small`) there is none and each caller takes its deterministic path.
"""

from __future__ import annotations

from typing import Callable

from once.providers.base import ModelRequest, Provider, Usage
from once.providers.pricing import billed, cost_usd

SmallAsk = Callable[[str, str], str]
"""(system prompt, question) -> the model's text answer. Raises ProviderError on failure."""


class SmallModel:
    """A `SmallAsk` that also counts what its calls used and cost, for the run's totals."""

    def __init__(self, provider: Provider, model: str, *, max_tokens: int = 1024,
                 prices: dict[str, dict[str, float]] | None = None) -> None:
        self.provider = provider
        self.model = model
        self.max_tokens = max_tokens
        self.prices = prices or {}
        self.usage = Usage()
        self.cost = 0.0
        self.calls = 0

    def __call__(self, system: str, question: str) -> str:
        request = ModelRequest(model=self.model, system=system, max_tokens=self.max_tokens,
                               messages=[{"role": "user", "content": [{"type": "text", "text": question}]}])
        response = self.provider.complete(request)
        self.calls += 1
        self.usage = self.usage + response.usage
        if billed(self.provider):
            self.cost += cost_usd(response.model or self.model, response.usage, self.prices)
        return response.text


def small_ask(provider: Provider, model: str, *, max_tokens: int = 1024,
              prices: dict[str, dict[str, float]] | None = None) -> SmallModel:
    return SmallModel(provider, model, max_tokens=max_tokens, prices=prices)


def counted_per_run(small: SmallAsk | None) -> SmallAsk | None:
    """The small model with its counts at zero, for one run.

    A drain builds one `SmallModel` for all its items (a replayed cassette keeps its place);
    its counts must not carry one item's usage and cost into the next run's totals.
    """
    if isinstance(small, SmallModel):
        return SmallModel(small.provider, small.model, max_tokens=small.max_tokens, prices=small.prices)
    return small
