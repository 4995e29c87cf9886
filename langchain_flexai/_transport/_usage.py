"""FlexAI's cached-prompt usage fields, put where LangChain reads them.

FlexAI's chat completion object may carry ``usage.cache_read_input_tokens`` and
``usage.cache_creation_input_tokens`` (top-level, Anthropic-style names; docs/flexai_api.md);
OpenAI-style servers report ``usage.prompt_tokens_details.cached_tokens`` instead, which
langchain-openai already maps. This module adds FlexAI's fields to a message's
``usage_metadata["input_token_details"]`` as ``cache_read`` / ``cache_creation``. Like OpenAI's
``prompt_tokens``, FlexAI's count includes the cached tokens: ``input_tokens`` is not changed.
Knows nothing about requests or prices (``catalog.usage_cost`` prices a usage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage

__all__ = ["CACHE_FIELDS", "add_cache_details", "usage_of"]

CACHE_FIELDS = {
    "cache_read_input_tokens": "cache_read",
    "cache_creation_input_tokens": "cache_creation",
}
"""FlexAI's usage field -> the ``input_token_details`` key LangChain defines for it."""


def usage_of(response: object) -> Mapping[str, Any] | None:
    """The ``usage`` object of a response or stream chunk, as a mapping (None when absent)."""
    if isinstance(response, Mapping):
        usage = response.get("usage")
    else:
        usage = getattr(response, "usage", None)
    if usage is None or isinstance(usage, Mapping):
        return usage
    # An SDK model: FlexAI's extra fields live in `model_extra`, next to the declared ones.
    extra = getattr(usage, "model_extra", None) or {}
    return {name: extra[name] for name in CACHE_FIELDS if name in extra}


def add_cache_details(message: object, usage: Mapping[str, Any] | None) -> None:
    """Copy FlexAI's cache fields from ``usage`` into ``message.usage_metadata`` (in place).

    Only non-negative integers are copied; a field OpenAI's ``prompt_tokens_details`` already
    set is kept (both name the same tokens).
    """
    metadata = getattr(message, "usage_metadata", None) if isinstance(message, AIMessage) else None
    if not usage or metadata is None:
        return
    details: dict[str, int] = {}
    for field, key in CACHE_FIELDS.items():
        value = usage.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            details[key] = value
    if not details:
        return
    current: dict[str, Any] = dict(metadata.get("input_token_details") or {})
    for key, value in details.items():
        current.setdefault(key, value)
    metadata["input_token_details"] = current
