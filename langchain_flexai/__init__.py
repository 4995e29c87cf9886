"""LangChain integration for FlexAI's vision models.

The public names are imported on first use (module ``__getattr__``), so ``import langchain_flexai``
and the ``flexai-vision`` command's ``--help`` do not pay for LangChain, the openai SDK and Pillow
until a name that needs them is used. ``from langchain_flexai import ChatFlexAI``, ``dir()``,
``__all__`` and type checkers (the ``TYPE_CHECKING`` imports below) see every name as before.

To export a new name: one entry in ``_EXPORTS`` (name: the module under ``langchain_flexai`` that
defines it), its name in ``__all__``, and, for type checkers, its import in the ``TYPE_CHECKING``
block. Do not add a plain import here: it would load its module, and everything that imports, at
``import langchain_flexai`` time.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from langchain_flexai._version import __version__

if TYPE_CHECKING:
    from langchain_flexai.catalog._client import (
        CostEstimate,
        FlexAICatalog,
        ModelInfo,
        aget_model,
        alist_models,
        estimate_cost,
        get_model,
        list_models,
    )
    from langchain_flexai.chat_models import ChatFlexAI
    from langchain_flexai.content._messages import ImageStats, prepare_messages
    from langchain_flexai.describe._run import (
        DescribeProgress,
        DescribeRecord,
        DescribeReport,
        ImageDescriber,
        RequestRateLimiter,
        TokenUsage,
    )
    from langchain_flexai.document_loaders import FlexAIImageLoader, FlexAIImageParser, SkippedFile
    from langchain_flexai.embeddings import FlexAIEmbeddings
    from langchain_flexai.errors import (
        DescribeCacheError,
        FlexAICatalogError,
        FlexAIConfigError,
        FlexAICreditExhaustedError,
        FlexAIStreamInterruptedError,
        ImageErrorReason,
        ImageInputError,
        ModelNotFoundError,
        ToolChoiceNotSupportedError,
    )
    from langchain_flexai.images._doors import (
        clear_image_cache,
        image_block,
        prepare_image,
        prepare_inline_image,
    )
    from langchain_flexai.images._fetch_policy import FetchPolicy
    from langchain_flexai.images._pdf_door import pdf_block
    from langchain_flexai.images._policy import ImagePolicy
    from langchain_flexai.images._prepared import PreparedImage
    from langchain_flexai.tokens import estimate_image_tokens
    from langchain_flexai.tools import FlexAIVisionTool, tool_image_content

_EXPORTS: dict[str, str] = {
    "CostEstimate": "catalog._client",
    "FlexAICatalog": "catalog._client",
    "ModelInfo": "catalog._client",
    "aget_model": "catalog._client",
    "alist_models": "catalog._client",
    "estimate_cost": "catalog._client",
    "get_model": "catalog._client",
    "list_models": "catalog._client",
    "ChatFlexAI": "chat_models",
    "ImageStats": "content._messages",
    "prepare_messages": "content._messages",
    "DescribeProgress": "describe._run",
    "DescribeRecord": "describe._run",
    "DescribeReport": "describe._run",
    "ImageDescriber": "describe._run",
    "RequestRateLimiter": "describe._run",
    "TokenUsage": "describe._run",
    "FlexAIImageLoader": "document_loaders",
    "FlexAIImageParser": "document_loaders",
    "SkippedFile": "document_loaders",
    "FlexAIEmbeddings": "embeddings",
    "DescribeCacheError": "errors",
    "FlexAICatalogError": "errors",
    "FlexAIConfigError": "errors",
    "FlexAICreditExhaustedError": "errors",
    "FlexAIStreamInterruptedError": "errors",
    "ImageErrorReason": "errors",
    "ImageInputError": "errors",
    "ModelNotFoundError": "errors",
    "ToolChoiceNotSupportedError": "errors",
    "FetchPolicy": "images._fetch_policy",
    "pdf_block": "images._pdf_door",
    "clear_image_cache": "images._doors",
    "image_block": "images._doors",
    "prepare_image": "images._doors",
    "prepare_inline_image": "images._doors",
    "ImagePolicy": "images._policy",
    "PreparedImage": "images._prepared",
    "estimate_image_tokens": "tokens",
    "FlexAIVisionTool": "tools",
    "tool_image_content": "tools",
}
"""Public name -> the module (under ``langchain_flexai``) that defines it."""

__all__ = [
    "ChatFlexAI",
    "CostEstimate",
    "DescribeCacheError",
    "DescribeProgress",
    "DescribeRecord",
    "DescribeReport",
    "FetchPolicy",
    "FlexAICatalog",
    "FlexAICatalogError",
    "FlexAIConfigError",
    "FlexAICreditExhaustedError",
    "FlexAIEmbeddings",
    "FlexAIImageLoader",
    "FlexAIImageParser",
    "FlexAIStreamInterruptedError",
    "FlexAIVisionTool",
    "ImageDescriber",
    "ImageErrorReason",
    "ImageInputError",
    "ImagePolicy",
    "ImageStats",
    "ModelInfo",
    "ModelNotFoundError",
    "PreparedImage",
    "RequestRateLimiter",
    "SkippedFile",
    "TokenUsage",
    "ToolChoiceNotSupportedError",
    "__version__",
    "aget_model",
    "alist_models",
    "clear_image_cache",
    "estimate_cost",
    "estimate_image_tokens",
    "get_model",
    "image_block",
    "list_models",
    "pdf_block",
    "prepare_image",
    "prepare_inline_image",
    "prepare_messages",
    "tool_image_content",
]


if not TYPE_CHECKING:
    # Hidden from type checkers: with a module-level __getattr__ in sight, mypy lets any name
    # be imported from the package (a misspelt import would pass); it reads the imports above.
    def __getattr__(name: str) -> Any:
        module_name = _EXPORTS.get(name)
        if module_name is None:
            # A submodule not imported yet (`langchain_flexai.chat_models`), as eager imports
            # allowed.
            if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
                return importlib.import_module(f"{__name__}.{name}")
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
