"""`langchain_flexai.profiles` as in 0.2.0.

The names of :mod:`langchain_flexai.catalog.profiles`, at their 0.2.0 import path.
"""

from __future__ import annotations

from langchain_flexai.catalog.profiles import (
    VISION_MODELS,
    profile_for,
    profile_from_model_info,
    refresh_profile,
    suggest_models,
)

__all__ = [
    "VISION_MODELS",
    "profile_for",
    "profile_from_model_info",
    "refresh_profile",
    "suggest_models",
]
