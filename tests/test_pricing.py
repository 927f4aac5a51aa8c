"""Model prices and the cost of a call."""

from __future__ import annotations

import pytest

from once.errors import ConfigError
from once.providers.base import Usage
from once.providers.pricing import PRICES, Price, cost_usd, price_for


def test_exact_names_have_the_published_prices() -> None:
    assert price_for("claude-opus-4-5") == Price(5.0, 25.0, 6.25, 0.5)
    assert price_for("claude-sonnet-4-6") == Price(3.0, 15.0, 3.75, 0.3)
    assert price_for("claude-haiku-4-5") == Price(1.0, 5.0, 1.25, 0.1)
    for name in ("claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8"):
        assert PRICES[name] == PRICES["claude-opus-4-5"]


def test_cache_prices_follow_the_input_price() -> None:
    for price in PRICES.values():
        assert price.cache_write == pytest.approx(1.25 * price.input)
        assert price.cache_read == pytest.approx(0.1 * price.input)


def test_a_dated_model_id_prices_as_its_family() -> None:
    assert price_for("claude-haiku-4-5-20251001") == PRICES["claude-haiku-4-5"]
    assert price_for("claude-sonnet-4-5@20250929") == PRICES["claude-sonnet-4-5"]


def test_a_prefix_must_end_at_a_separator() -> None:
    assert price_for("claude-opus-4-50") is None


def test_unknown_model_has_no_price_and_costs_nothing() -> None:
    assert price_for("llama3.1:8b") is None
    assert cost_usd("llama3.1:8b", Usage(input_tokens=1_000_000, output_tokens=1_000_000)) == 0.0


def test_config_prices_win_and_missing_cache_prices_are_derived() -> None:
    extra = {"claude-haiku-4-5": {"input": 2.0, "output": 10.0}, "qwen2.5-coder": {"input": 0.5, "output": 1.0}}
    assert price_for("claude-haiku-4-5", extra) == Price(2.0, 10.0, 2.5, 0.2)
    assert price_for("claude-haiku-4-5-20251001", extra) == Price(2.0, 10.0, 2.5, 0.2)
    assert price_for("qwen2.5-coder", extra) == Price(0.5, 1.0, 0.625, 0.05)
    assert price_for("claude-haiku-4-5") == Price(1.0, 5.0, 1.25, 0.1), "built-ins stay untouched"


def test_config_cache_prices_are_used_when_given() -> None:
    extra = {"local": {"input": 1.0, "output": 2.0, "cache_write": 0.0, "cache_read": 0.0}}
    assert price_for("local", extra) == Price(1.0, 2.0, 0.0, 0.0)


def test_a_config_price_without_input_or_output_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="local"):
        price_for("local", {"local": {"output": 2.0}})


def test_cost_prices_cache_tokens_apart_from_input() -> None:
    usage = Usage(
        input_tokens=1_000,
        output_tokens=2_000,
        cache_creation_input_tokens=10_000,
        cache_read_input_tokens=100_000,
    )
    # sonnet: 1k*3 + 2k*15 + 10k*3.75 + 100k*0.3 = 3000 + 30000 + 37500 + 30000 per million
    assert cost_usd("claude-sonnet-4-6", usage) == pytest.approx(100_500 / 1_000_000)


def test_cost_of_one_million_of_each_kind() -> None:
    million = 1_000_000
    assert cost_usd("claude-opus-4-7", Usage(input_tokens=million)) == pytest.approx(5.0)
    assert cost_usd("claude-opus-4-7", Usage(output_tokens=million)) == pytest.approx(25.0)
    assert cost_usd("claude-opus-4-7", Usage(cache_creation_input_tokens=million)) == pytest.approx(6.25)
    assert cost_usd("claude-opus-4-7", Usage(cache_read_input_tokens=million)) == pytest.approx(0.5)


def test_cost_uses_config_prices() -> None:
    extra = {"my-model": {"input": 10.0, "output": 20.0}}
    assert cost_usd("my-model", Usage(input_tokens=500_000, output_tokens=100_000), extra) == pytest.approx(7.0)
