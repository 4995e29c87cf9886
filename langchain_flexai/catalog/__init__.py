"""FlexAI's model catalog: which models exist, what they can do, what they cost.

The client and its cache (`_client`), the two model lists parsed (`_models`), LangChain model
profiles (`profiles`), the pre-request capability checks (`capabilities`) and the cost of a
reported usage, prompt cache included (`_cost`).
"""

from __future__ import annotations

from langchain_flexai.catalog._client import (
    DEFAULT_BASE_URL,
    CatalogWarning,
    CostEstimate,
    FlexAICatalog,
    FlexAICatalogError,
    ModelInfo,
    ModelNotFoundError,
    aget_model,
    alist_models,
    default_catalog,
    estimate_cost,
    get_model,
    is_flexai_url,
    list_models,
    parse_public_models,
    parse_v1_models,
)
from langchain_flexai.catalog._cost import usage_cost

__all__ = [
    "DEFAULT_BASE_URL",
    "CatalogWarning",
    "CostEstimate",
    "FlexAICatalog",
    "FlexAICatalogError",
    "ModelInfo",
    "ModelNotFoundError",
    "aget_model",
    "alist_models",
    "default_catalog",
    "estimate_cost",
    "get_model",
    "is_flexai_url",
    "list_models",
    "parse_public_models",
    "parse_v1_models",
    "usage_cost",
]
