"""What a reported usage costs: prompt-cache reads at the catalog's cached-input price."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from langchain_flexai.catalog import ModelInfo, usage_cost
from langchain_flexai.catalog._models import parse_public_models, parse_v1_models
from langchain_flexai.cli import _describe as _cli_describe
from langchain_flexai.cli._common import Connection
from langchain_flexai.describe import TokenUsage


def test_catalog_reads_cached_input_price_from_both_lists() -> None:
    entry = {"pricing": {"input_per_mtok": 0.2, "output_per_mtok": 0.6}}
    entry["pricing"]["cached_input_per_mtok"] = 0.05
    (public,) = parse_public_models([{"model_name": "m", **entry}])
    (keyed,) = parse_v1_models({"data": [{"id": "m", **entry}]})
    assert public.cached_input_per_mtok == keyed.cached_input_per_mtok == 0.05
    (none,) = parse_v1_models({"data": [{"id": "m", "pricing": {"input_per_mtok": 0.2}}]})
    assert none.cached_input_per_mtok is None


def test_usage_cost_prices_cached_tokens_at_the_cached_price() -> None:
    info = ModelInfo(
        id="m", name="m", input_per_mtok=0.2, output_per_mtok=0.6, cached_input_per_mtok=0.05
    )
    usage = {"input_tokens": 2000, "output_tokens": 10, "input_token_details": {"cache_read": 1500}}
    expected = (500 * 0.2 + 1500 * 0.05 + 10 * 0.6) / 1_000_000
    assert usage_cost(usage, info) == pytest.approx(expected)
    without = ModelInfo(id="m", name="m", input_per_mtok=0.2, output_per_mtok=0.6)
    assert usage_cost(usage, without) == pytest.approx((2000 * 0.2 + 10 * 0.6) / 1_000_000)
    assert usage_cost(usage, ModelInfo(id="m", name="m", input_per_mtok=0.2)) is None


def test_usage_cost_never_prices_more_cached_than_prompt_tokens() -> None:
    info = ModelInfo(
        id="m", name="m", input_per_mtok=1.0, output_per_mtok=1.0, cached_input_per_mtok=0.0
    )
    usage = {"input_tokens": 10, "output_tokens": 0, "input_token_details": {"cache_read": 99}}
    assert usage_cost(usage, info) == 0.0


def test_describe_usage_keeps_cache_reads_and_the_cli_prices_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = AIMessage(
        "ok",
        usage_metadata={
            "input_tokens": 2000,
            "output_tokens": 100,
            "total_tokens": 2100,
            "input_token_details": {"cache_read": 1600},
        },
    )
    usage = TokenUsage.from_message(message)
    assert usage == TokenUsage(2000, 100, 2100, 1600)
    assert usage.as_dict()["cache_read_tokens"] == 1600
    assert TokenUsage.from_dict(usage.as_dict()) == usage
    assert (usage + usage).cache_read_tokens == 3200
    assert "cache_read_tokens" not in TokenUsage(1, 1, 2).as_dict()  # outputs as before
    info = ModelInfo(
        id="m-1", name="M", input_per_mtok=0.5, output_per_mtok=2.0, cached_input_per_mtok=0.1
    )
    monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: info)
    line = _cli_describe.usage_line(usage, Connection("u", None, emulated=False), "m-1")
    # (400 * 0.5 + 1600 * 0.1 + 100 * 2.0) / 1e6 = 0.00056
    assert line == "2000 prompt + 100 completion tokens; cost $0.000560 (m-1)"
