"""LangChain integration for FlexAI's vision models."""

from langchain_flexai._version import __version__
from langchain_flexai.errors import ImageErrorReason, ImageInputError

__all__ = [
    "ImageErrorReason",
    "ImageInputError",
    "__version__",
]
