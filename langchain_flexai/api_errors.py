"""`langchain_flexai.api_errors` as in 0.2.0: FlexAI's HTTP errors and their mapping.

The classes live in :mod:`langchain_flexai.errors`, the mapping in
:mod:`langchain_flexai._transport._errors`; this module keeps the 0.2.0 import path of every
public name.
"""

from __future__ import annotations

from langchain_flexai._transport._errors import (
    connection_error,
    describe_cause,
    error_code,
    flexai_error_message,
    root_cause,
    stream_interrupted,
    to_flexai_error,
)
from langchain_flexai.errors import (
    FlexAIConnectionError,
    FlexAICreditExhaustedError,
    FlexAIStreamInterruptedError,
    FlexAITimeoutError,
    _revive,  # noqa: F401 - an error pickled by 0.2.0 names its rebuilder here
)

__all__ = [
    "FlexAIConnectionError",
    "FlexAICreditExhaustedError",
    "FlexAIStreamInterruptedError",
    "FlexAITimeoutError",
    "connection_error",
    "describe_cause",
    "error_code",
    "flexai_error_message",
    "root_cause",
    "stream_interrupted",
    "to_flexai_error",
]
