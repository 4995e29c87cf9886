"""What a request cost, from its reported usage and the catalog's prices, prompt cache included.

FlexAI's usage may report prompt tokens read from its prompt cache (``cache_read_input_tokens``,
in ``usage_metadata["input_token_details"]["cache_read"]`` once ``ChatFlexAI`` has read it), and
the catalog may list a cheaper ``cached_input_per_mtok`` for them (docs/flexai_api.md, "More of
the API"). Those tokens are part of ``input_tokens``; they are priced at the cached price when
the catalog lists one, at the input price otherwise. Written-to-cache tokens
(``cache_creation``) have no price of their own in FlexAI's catalog: they cost the input price.
Uses ``tokens_cost``, the package's one price formula. Knows nothing about requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_flexai.catalog._client import tokens_cost
from langchain_flexai.catalog._models import ModelInfo

__all__ = ["cached_tokens", "usage_cost"]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def cached_tokens(usage: Mapping[str, Any]) -> int:
    """The prompt tokens ``usage`` (a LangChain ``usage_metadata``) says were read from cache."""
    details = usage.get("input_token_details")
    return _count(details.get("cache_read")) if isinstance(details, Mapping) else 0


def usage_cost(usage: Mapping[str, Any], info: ModelInfo) -> float | None:
    """What a completion with this ``usage_metadata`` cost at ``info``'s prices.

    ``(fresh * input + cached * cached_input + output * output) / 1e6`` where ``cached`` is
    ``cache_read`` (at most ``input_tokens``) and ``fresh`` the rest of ``input_tokens``.

    Returns:
        The cost in the catalog's currency, or None when the input or output price is missing.
    """
    prompt = _count(usage.get("input_tokens"))
    cached = min(prompt, cached_tokens(usage))
    cached_price = info.cached_input_per_mtok
    if cached_price is None:
        cached_price = info.input_per_mtok
    return tokens_cost(
        (prompt - cached, info.input_per_mtok),
        (cached, cached_price if cached else info.input_per_mtok),
        (_count(usage.get("output_tokens")), info.output_per_mtok),
    )
