"""`langchain_flexai.capabilities` as in 0.2.0.

The names of :mod:`langchain_flexai.catalog.capabilities`, at their 0.2.0 import path.
"""

from __future__ import annotations

from langchain_flexai.catalog.capabilities import (
    check_capabilities,
    check_request,
    declines_forced_tool_choice,
    image_refusal,
    record_forced_tool_choice_declined,
)
from langchain_flexai.errors import (
    ForcedToolChoiceWarning,
    ModelCapabilityError,
    ToolChoiceNotSupportedError,
)

__all__ = [
    "ForcedToolChoiceWarning",
    "ModelCapabilityError",
    "ToolChoiceNotSupportedError",
    "check_capabilities",
    "check_request",
    "declines_forced_tool_choice",
    "image_refusal",
    "record_forced_tool_choice_declined",
]
