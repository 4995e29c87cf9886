"""LangChain integration for FlexAI's vision models."""

from langchain_flexai._version import __version__
from langchain_flexai.content import ImageStats, prepare_messages
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import (
    ImagePolicy,
    PreparedImage,
    clear_image_cache,
    image_block,
    prepare_image,
    prepare_inline_image,
)

__all__ = [
    "ImageErrorReason",
    "ImageInputError",
    "ImagePolicy",
    "ImageStats",
    "PreparedImage",
    "__version__",
    "clear_image_cache",
    "image_block",
    "prepare_image",
    "prepare_inline_image",
    "prepare_messages",
]
