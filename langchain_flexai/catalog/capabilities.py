"""Pre-request checks: refuse what a model is known not to do, before anything is sent or billed.

Pure functions over the final OpenAI-style request (``{"model", "messages", "tool_choice", ...}``
with ``image_url`` parts) and the model's catalog record. Two checks:

* images sent to a model that does not read them raise ``ImageInputError`` (reason
  ``IMAGE_NOT_ALLOWED``) located at the first image, naming vision-capable alternatives;
* a forced tool call (``tool_choice`` ``"required"`` or a named function) sent to a model known to
  decline it warns or raises :class:`ToolChoiceNotSupportedError`, as configured.

This module is the one owner of the text-only-model refusal: the decision
(:func:`refuses_images`), its words (:func:`image_refusal` for Python callers,
:func:`command_line_refusal` for the CLI), the error it raises (:func:`image_not_allowed`), and
how to recognise FlexAI's own refusal in an API error (:func:`server_refused_images`, which a
describe run treats as permanent).

"Known" means: the catalog record says so (no ``vision`` tag; ``supported_parameters`` without
``tool_choice``), or, with no record, the static profile table does, or this process already saw
the model answer ``400 tool_choice_not_honored`` (:func:`record_forced_tool_choice_declined`).
Unknown stays allowed: the server remains the judge. Knows nothing about HTTP or pixels.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

# FlexAI's own refusal is recognised where FlexAI's errors are known; re-exported here with the
# decision it mirrors.
from langchain_flexai._transport._errors import TEXT_ONLY_ANSWER, server_refused_images
from langchain_flexai.catalog.profiles import VISION_MODELS, profile_for
from langchain_flexai.errors import (
    ForcedToolChoiceWarning,
    ImageErrorReason,
    ImageInputError,
    ModelCapabilityError,
    ToolChoiceNotSupportedError,
)

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_flexai.catalog._client import FlexAICatalog, ModelInfo

__all__ = [
    "TEXT_ONLY_ANSWER",
    "ForcedToolChoiceWarning",
    "ModelCapabilityError",
    "ToolChoiceNotSupportedError",
    "catalog_image_refusal",
    "check_capabilities",
    "check_request",
    "command_line_refusal",
    "declines_forced_tool_choice",
    "image_not_allowed",
    "image_refusal",
    "record_forced_tool_choice_declined",
    "refuses_images",
    "server_refused_images",
]

OnForcedToolDecline = Literal["warn", "raise"]

_IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
_MAX_ALTERNATIVES = 5

_DECLINED: set[str] = set()
_DECLINED_LOCK = threading.Lock()


def record_forced_tool_choice_declined(model: str) -> None:
    """Remember, for this process, that ``model`` answered ``400 tool_choice_not_honored``."""
    with _DECLINED_LOCK:
        _DECLINED.add(model.casefold())


def declines_forced_tool_choice(model: str | None, model_info: ModelInfo | None) -> bool:
    """Whether ``model`` is known to decline a forced tool call."""
    if model is not None and model.casefold() in _DECLINED:
        return True
    if model_info is not None:
        if model_info.id.casefold() in _DECLINED:
            return True
        params = model_info.supported_parameters
        return params is not None and "tool_choice" not in params
    profile = profile_for(model) if model is not None else None
    return profile is not None and profile.get("tool_choice") is False


def _reads_images(model: str | None, model_info: ModelInfo | None) -> bool | None:
    if model_info is not None:
        return model_info.vision
    profile = profile_for(model) if model is not None else None
    return profile.get("image_inputs") if profile is not None else None


def _image_positions(messages: Sequence[Any]) -> Iterator[tuple[int, int]]:
    """(message index, part index) of every image part, in wire dicts or LangChain messages."""
    for message_index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else message.content
        if not isinstance(content, list):
            continue
        for part_index, part in enumerate(content):
            if isinstance(part, Mapping) and part.get("type") in _IMAGE_PART_TYPES:
                yield message_index, part_index


def _alternatives_text(alternatives: Sequence[str] | None) -> str:
    names = list(alternatives if alternatives is not None else VISION_MODELS)
    shown = ", ".join(names[:_MAX_ALTERNATIVES])
    more = f" (and {len(names) - _MAX_ALTERNATIVES} more)" if len(names) > _MAX_ALTERNATIVES else ""
    return f"{shown}{more}" if names else "none listed"


def refuses_images(model: str | None, model_info: ModelInfo | None) -> bool:
    """Whether ``model`` is known not to read images (the catalog record, else the static table).

    Unknown (no catalog record, not in the static table) counts as "reads them": the server
    judges.
    """
    return _reads_images(model, model_info) is False


def image_refusal(
    model: str | None,
    model_info: ModelInfo | None,
    *,
    alternatives: Sequence[str] | None = None,
) -> str | None:
    """Why images cannot go to ``model``, naming vision models instead; None when they can.

    Unknown (no catalog record, not in the static table) counts as "can": the server judges.
    """
    if not refuses_images(model, model_info):
        return None
    name = model_info.id if model_info is not None else model
    source = "its catalog entry has no 'vision' capability"
    if model_info is None:
        source = "langchain-flexai's table of well-known models lists it as text-only"
    return (
        f"model {name!r} does not read images ({source}). Send images to a "
        f"vision-capable model, for example: {_alternatives_text(alternatives)}"
    )


def catalog_image_refusal(model: str, catalog: FlexAICatalog, *, fetch: bool) -> str | None:
    """Why images cannot go to ``model``, judged from ``catalog`` and the static table.

    ``fetch``: ask the catalog (one cached request); otherwise only a record already fetched is
    used, so no request is ever made for this. The vision models named in the refusal come from
    the catalog at hand, when it has been read.
    """
    info = catalog.find_model(model) if fetch else catalog.cached_model(model)
    alternatives = None
    if info is not None and refuses_images(model, info):
        cached = catalog.cached_models() or ()
        alternatives = [m.id for m in cached if m.vision]
    return image_refusal(model, info, alternatives=alternatives)


def command_line_refusal(model: str, alternatives: Sequence[str]) -> str:
    """The refusal in a shell user's words: ``"<model> does not read images; vision models: ..."``.

    Every alternative is listed (a terminal line, not an exception message).
    """
    hint = f"; vision models: {', '.join(alternatives)}" if alternatives else ""
    return f"{model} does not read images{hint}"


def image_not_allowed(
    refusal: str, *, message_index: int | None = None, part_index: int | None = None
) -> ImageInputError:
    """The error for an image refused by :func:`image_refusal` (reason ``IMAGE_NOT_ALLOWED``)."""
    return ImageInputError(
        refusal,
        reason=ImageErrorReason.IMAGE_NOT_ALLOWED,
        message_index=message_index,
        part_index=part_index,
    )


def _is_forced(tool_choice: object) -> bool:
    # "required" forces some call; a dict names one function. "auto"/"none" force nothing.
    return tool_choice == "required" or isinstance(tool_choice, Mapping)


def check_request(
    messages_or_payload: Mapping[str, Any] | Sequence[BaseMessage] | Sequence[Mapping[str, Any]],
    model_info: ModelInfo | None,
    *,
    model: str | None = None,
    alternatives: Sequence[str] | None = None,
    on_forced_tool_decline: OnForcedToolDecline = "raise",
) -> None:
    """Check a request against what its model is known to do; return quietly when nothing is wrong.

    Args:
        messages_or_payload: The request payload (``model``, ``messages``, ``tool_choice``) or
            just its messages (wire dicts or LangChain messages).
        model_info: The model's catalog record; None to rely on the static table only.
        model: The model id, when not in the payload (or to override it).
        alternatives: Vision-capable model ids to suggest (default: the static list).
        on_forced_tool_decline: ``"raise"`` or ``"warn"`` for a forced tool call the model is
            known to decline.

    Raises:
        ImageInputError: Images sent to a model that does not read them
            (reason ``IMAGE_NOT_ALLOWED``, located at the first image).
        ToolChoiceNotSupportedError: A forced tool call the model is known to decline, when
            ``on_forced_tool_decline="raise"``.
    """
    if isinstance(messages_or_payload, Mapping):
        payload: Mapping[str, Any] = messages_or_payload
        messages = payload.get("messages") or []
        model = model or payload.get("model")
        tool_choice = payload.get("tool_choice")
    else:
        messages, tool_choice = messages_or_payload, None
    name = model_info.id if model_info is not None else model

    refusal = image_refusal(model, model_info, alternatives=alternatives)
    if refusal is not None:
        position = next(_image_positions(messages), None)
        if position is not None:
            raise image_not_allowed(refusal, message_index=position[0], part_index=position[1])

    if _is_forced(tool_choice) and declines_forced_tool_choice(model, model_info):
        text = (
            f"model {name!r} is known to decline forced tool calls (tool_choice={tool_choice!r}); "
            "FlexAI would answer 400 tool_choice_not_honored. Use tool_choice='auto' or a "
            "model that honours forced tool calls"
        )
        if on_forced_tool_decline == "raise":
            raise ToolChoiceNotSupportedError(text)
        warnings.warn(text, ForcedToolChoiceWarning, stacklevel=3)


def check_capabilities(
    payload: dict[str, Any],
    *,
    model_info: ModelInfo | None,
    on_forced_tool_decline: OnForcedToolDecline,
    alternatives: Sequence[str] | None = None,
) -> None:
    """Check the final request payload before it is sent (what ChatFlexAI calls).

    See :func:`check_request` for what is checked and raised.
    """
    check_request(
        payload,
        model_info,
        alternatives=alternatives,
        on_forced_tool_decline=on_forced_tool_decline,
    )
