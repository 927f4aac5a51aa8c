"""What a model call costs, in US dollars.

Prices are USD per million tokens. Cache writes and cache reads are priced apart
from plain input, because the Anthropic API reports `input_tokens` *excluding*
the tokens written to or read from the prompt cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from once.errors import ConfigError
from once.providers.base import Usage

# Anthropic's multipliers for prompt caching (5-minute cache), relative to input.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_DIVISOR = 10  # reads cost a tenth; dividing keeps 3.0 -> 0.3 exact in floats

# Characters that may follow a known name in a longer model id: a date suffix
# ("-20251001"), a Vertex version ("@20251001") or a Bedrock revision (":0").
_SUFFIX_SEPARATORS = ("-", "@", ":")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


def _price(input_usd: float, output_usd: float) -> Price:
    return Price(
        input=input_usd,
        output=output_usd,
        cache_write=input_usd * CACHE_WRITE_FACTOR,
        cache_read=input_usd / CACHE_READ_DIVISOR,
    )


PRICES: dict[str, Price] = {
    "claude-opus-4-5": _price(5.0, 25.0),
    "claude-opus-4-6": _price(5.0, 25.0),
    "claude-opus-4-7": _price(5.0, 25.0),
    "claude-opus-4-8": _price(5.0, 25.0),
    "claude-sonnet-4-5": _price(3.0, 15.0),
    "claude-sonnet-4-6": _price(3.0, 15.0),
    "claude-haiku-4-5": _price(1.0, 5.0),
}


def price_from_config(model: str, entry: Mapping[str, float]) -> Price:
    """Build a Price from a config entry; missing cache prices are derived from input."""
    try:
        input_usd = float(entry["input"])
        output_usd = float(entry["output"])
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(
            f"The price for model {model!r} needs numeric 'input' and 'output' (USD per million tokens).",
            hint="For example: [prices.\"my-model\"] input = 3.0, output = 15.0",
        ) from err
    base = _price(input_usd, output_usd)
    return Price(
        input=base.input,
        output=base.output,
        cache_write=float(entry.get("cache_write", base.cache_write)),
        cache_read=float(entry.get("cache_read", base.cache_read)),
    )


def _table(extra: Mapping[str, Mapping[str, float]] | None) -> dict[str, Price | Mapping[str, float]]:
    """Built-in prices plus config entries, which are checked only when a model uses them."""
    table: dict[str, Price | Mapping[str, float]] = dict(PRICES)
    table.update(extra or {})
    return table


def _resolve(name: str, entry: Price | Mapping[str, float]) -> Price:
    return entry if isinstance(entry, Price) else price_from_config(name, entry)


def price_for(model: str, extra: Mapping[str, Mapping[str, float]] | None = None) -> Price | None:
    """The price of `model`: config entries in `extra` win over the built-in table.

    An exact name wins; otherwise the longest known name that `model` starts with
    (followed by a separator), so `claude-haiku-4-5-20251001` prices as
    `claude-haiku-4-5`. Unknown models give None.
    """
    table = _table(extra)
    if model in table:
        return _resolve(model, table[model])
    candidates = [
        name
        for name in table
        if model.startswith(name) and model[len(name)] in _SUFFIX_SEPARATORS
    ]
    if not candidates:
        return None
    best = max(candidates, key=len)
    return _resolve(best, table[best])


def billed(provider: object) -> bool:
    """Whether anyone pays for this provider's calls: a replayed cassette costs nothing (its
    tokens still count, and so does their list price against --max-cost, as when recorded)."""
    return bool(getattr(provider, "billed", True))


def cost_usd(model: str, usage: Usage, extra: Mapping[str, Mapping[str, float]] | None = None) -> float:
    """The cost of one call; 0.0 for a model with no known price."""
    price = price_for(model, extra)
    if price is None:
        return 0.0
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    )
    return total / 1_000_000
