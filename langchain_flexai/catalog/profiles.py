"""LangChain ``ModelProfile``s for FlexAI models: a small static table, and catalog records mapped.

The static table only says what FlexAI's captured ``/v1/models`` list said about the default
model and the well-known ones (which read images, which reason); anything it does not know is
left out, because an absent key means "unknown" in a ``ModelProfile``. Token limits, prices,
tool and structured-output support come from the live catalog: ``profile_from_model_info`` maps a
:class:`~langchain_flexai.catalog.ModelInfo` and ``refresh_profile`` fetches and merges.

Knows nothing about HTTP (catalog.py) or about the request being sent (capabilities.py).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from langchain_core.language_models.model_profile import ModelProfile

from langchain_flexai.catalog._client import default_catalog

if TYPE_CHECKING:
    from langchain_flexai.catalog._client import FlexAICatalog, ModelInfo

__all__ = [
    "VISION_MODELS",
    "profile_for",
    "profile_from_model_info",
    "refresh_profile",
    "suggest_models",
]

# FlexAI chat completions take exactly two kinds of part: text and image_url (https or data URL).
# Images inside tool results reach a vision model because ChatFlexAI moves them into a user
# message by default (tool_images="user_message"). PDFs reach it as their pages, rendered to
# images by ChatFlexAI (docs/pdf.md), in user messages and tool results alike.
_TEXT_ONLY = ModelProfile(
    text_inputs=True,
    image_inputs=False,
    image_url_inputs=False,
    image_tool_message=False,
    pdf_inputs=False,
    pdf_tool_message=False,
    audio_inputs=False,
    video_inputs=False,
    text_outputs=True,
)
_VISION: ModelProfile = {
    **_TEXT_ONLY,
    "image_inputs": True,
    "image_url_inputs": True,
    "image_tool_message": True,
    "pdf_inputs": True,
    "pdf_tool_message": True,
}

VISION_MODELS = (
    "phi-4-multimodal-instruct",  # the default model; FlexAI's docs name it as the vision model
    "DeepSeek-V4.1-Flash",
    "gemma-4-26B-A4B-it",
    "gemma-4-31b-it",
    "GLM-5.3-Flash",
    "Muse-Glimmer-30B",
    "Qwen3.5-9B",
    "Qwen3.6-27B-FP8",
    "Qwen3.6-35B-A3B-FP8",
    "Qwen3.8-27B",
    "Qwen3.8-Flash-Next",
    "Step-3.7-Flash",
)
"""Models tagged ``vision`` in FlexAI's captured catalog (a fallback when it cannot be read)."""

_STATIC: dict[str, ModelProfile] = {
    **{name.casefold(): {**_VISION, "name": name} for name in VISION_MODELS},
    "deepseek-v4-flash-0731": {**_TEXT_ONLY, "name": "DeepSeek-V4-Flash-0731"},
    # Reasoning model; it answers 200 and ignores images sent to it (docs/flexai_api.md, Vision).
    "gpt-oss-120b": {**_TEXT_ONLY, "name": "gpt-oss-120b", "reasoning_output": True},
}

_MAX_SUGGESTIONS = 3
_SUGGESTION_CUTOFF = 0.6
"""difflib ratio below which a known id is too far from the name to be what was meant."""

_REASONING_TAGS = frozenset({"reasoning", "always_thinking", "hybrid_thinking"})


def profile_for(model: str) -> ModelProfile | None:
    """The static profile of a well-known FlexAI model (case-insensitive), or None.

    Returns a fresh dict each time: callers may change it freely.
    """
    profile = _STATIC.get(model.casefold())
    if profile is None:
        return None
    copy: ModelProfile = {**profile}
    return copy


def profile_from_model_info(info: ModelInfo) -> ModelProfile:
    """Map a catalog record to a ``ModelProfile``; keys the catalog does not inform are left out."""
    caps = info.capabilities
    params = info.supported_parameters
    profile: ModelProfile = {**(_VISION if info.vision else _TEXT_ONLY), "name": info.name}
    if info.input_modalities:
        profile["text_inputs"] = "text" in info.input_modalities
    if info.output_modalities:
        profile["text_outputs"] = "text" in info.output_modalities
        profile["image_outputs"] = "image" in info.output_modalities
    if info.context_window is not None:
        profile["max_input_tokens"] = info.context_window
    if info.max_output is not None:
        profile["max_output_tokens"] = info.max_output
    tool_calling = "tool_use" in caps or (params is not None and "tools" in params)
    profile["tool_calling"] = tool_calling
    if params is not None:
        profile["tool_choice"] = tool_calling and "tool_choice" in params
        profile["temperature"] = "temperature" in params
    profile["structured_output"] = "structured_outputs" in caps
    profile["reasoning_output"] = bool(caps & _REASONING_TAGS)
    return profile


def refresh_profile(model: str, *, catalog: FlexAICatalog | None = None) -> ModelProfile:
    """The static profile updated with what the live catalog says now (fetches if needed).

    Raises:
        ModelNotFoundError: The catalog has no such model.
        FlexAICatalogError: The catalog could not be read.
    """
    info = (catalog or default_catalog()).get_model(model)
    merged: ModelProfile = {**(profile_for(info.id) or {}), **profile_from_model_info(info)}
    return merged


def suggest_models(model_id: str, *, catalog: FlexAICatalog | None = None) -> list[str]:
    """Known model ids the user may have meant by ``model_id``, closest first; never fetches.

    Draws on what is at hand: the static table, and ``catalog``'s records if it has fetched
    them already (even stale). An exact name of a known model, in another case, or as one of
    its aliases or its org-prefixed Hugging Face id (``google/gemma-4-31b-it``), gives that
    model's id alone; otherwise up to three ids that start with it or whose spelling is close
    (case-insensitive).
    An empty list when nothing is close.
    """
    ids = {name.casefold(): name for name in _static_names()}
    names = dict(ids)  # every name a known model answers to (casefolded) -> its id
    for info in (catalog.cached_models() if catalog is not None else None) or ():
        ids[info.id.casefold()] = info.id
        for name in info.names():
            names.setdefault(name.casefold(), info.id)
    folded = model_id.strip().casefold()
    bare = folded.rsplit("/", 1)[-1]  # an org-prefixed Hugging Face id without its org
    if not bare:
        return []
    for name in (folded, bare):
        if name in names:
            exact = names[name]
            return [exact] if exact != model_id else []
    # A truncated id ("qwen3.6-27b" for "Qwen3.6-27B-FP8") is the likeliest slip: prefixes first.
    prefixed = sorted((known for known in ids if known.startswith(bare)), key=len)
    close = difflib.get_close_matches(
        bare, list(ids), n=_MAX_SUGGESTIONS, cutoff=_SUGGESTION_CUTOFF
    )
    ranked = dict.fromkeys(ids[match] for match in (*prefixed, *close))
    return [known for known in ranked if known != model_id][:_MAX_SUGGESTIONS]


def _static_names() -> list[str]:
    return [profile["name"] for profile in _STATIC.values() if "name" in profile]
