"""LangChain integration for FlexAI's vision models."""

from langchain_flexai._version import __version__
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
from langchain_flexai.images._pdf_door import pdf_block
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from langchain_flexai.tokens import estimate_image_tokens
from langchain_flexai.tools import FlexAIVisionTool, tool_image_content

__all__ = [
    "ChatFlexAI",
    "CostEstimate",
    "DescribeCacheError",
    "DescribeProgress",
    "DescribeRecord",
    "DescribeReport",
    "FlexAICatalog",
    "FlexAICatalogError",
    "FlexAIConfigError",
    "FlexAICreditExhaustedError",
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
