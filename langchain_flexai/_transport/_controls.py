"""What a payload may ask of FlexAI (``n``, reasoning effort, thinking), checked before sending.

Knows three facts of docs/flexai_api.md ("More of the API"): FlexAI answers 400 to ``n > 1``;
``reasoning_effort`` is honoured by models the catalog tags ``reasoning_effort`` (values seen:
minimal, low, medium, high, max) and dropped by the gateway for the ``hybrid_thinking`` models
(gemma-4, Qwen3.5), which turn thinking on or off with ``{"thinking": {"type": "enabled" |
"disabled"}}`` (the request form models.dev records for them); ``always_thinking`` models cannot
stop thinking. ``ChatFlexAI(thinking=...)`` (or ``thinking=`` per call) is turned into that form
here; it travels in ``extra_body`` because the openai SDK has no such argument.

What the catalog says about a model is asked for by the caller (``model_info``): None means
unknown, and an unknown model gets everything sent as given, for the server to judge. Knows
nothing about messages, HTTP or how the catalog is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_flexai.errors import FlexAIConfigError, ModelCapabilityError

if TYPE_CHECKING:
    from langchain_flexai.catalog._client import FlexAICatalog
    from langchain_flexai.catalog._models import ModelInfo

__all__ = ["MULTIPLE_CHOICES_MESSAGE", "apply_controls", "check_n", "known_info", "thinking_body"]

MULTIPLE_CHOICES_MESSAGE = (
    "FlexAI does not support n > 1 (it answers 400): ask for one completion per request, "
    "e.g. model.batch([messages] * {n}) for {n} independent answers."
)


def check_n(n: object) -> None:
    """Refuse ``n > 1`` before anything is sent.

    Raises:
        FlexAIConfigError: ``n`` is an int greater than 1.
    """
    if isinstance(n, int) and not isinstance(n, bool) and n > 1:
        raise FlexAIConfigError(MULTIPLE_CHOICES_MESSAGE.format(n=n))


def thinking_body(thinking: bool) -> dict[str, Any]:  # noqa: FBT001 - the value itself
    """The request field that turns thinking on or off: ``{"thinking": {"type": ...}}``."""
    return {"thinking": {"type": "enabled" if thinking else "disabled"}}


def _refusal(model: str, what: str, advice: str) -> ModelCapabilityError:
    return ModelCapabilityError(f"Model {model!r} {what} (FlexAI's catalog says so); {advice}")


def known_info(
    catalog: FlexAICatalog,
    model: str,
    check: bool | str,  # noqa: FBT001 - ChatFlexAI.check_capabilities, passed on as it is
) -> ModelInfo | None:
    """What ``catalog`` knows of ``model`` as ``ChatFlexAI.check_capabilities`` allows it.

    ``False``: nothing (everything is sent as given); ``"known"``: a catalog already fetched
    (no request); ``True``: the catalog, fetched if needed (cached 5 minutes).
    """
    if check is False:
        return None
    return catalog.find_model(model) if check is True else catalog.cached_model(model)


def apply_controls(
    payload: dict[str, Any],
    thinking: bool | None,  # noqa: FBT001 - ChatFlexAI.thinking, passed on as it is
    model_info: Callable[[str], ModelInfo | None],
) -> None:
    """Check and rewrite ``payload`` in place: ``n``, ``reasoning_effort``, ``thinking``.

    ``payload["thinking"]`` (a per-call ``thinking=`` keyword) wins over ``thinking``, the
    model's setting. ``model_info`` is only called when there is something to check.

    Raises:
        FlexAIConfigError: ``n > 1``.
        ModelCapabilityError: ``thinking=False`` for an ``always_thinking`` model, or
            ``reasoning_effort`` for a model the catalog lists without the ``reasoning_effort``
            tag (the gateway would drop it silently).
    """
    check_n(payload.get("n"))
    if "thinking" in payload:
        thinking = payload.pop("thinking")
    effort = payload.get("reasoning_effort")
    if thinking is None and effort is None:
        return
    model = str(payload.get("model") or "")
    info = model_info(model)
    if effort is not None and info is not None and not info.supports("reasoning_effort"):
        advice = (
            "turn thinking on or off with thinking=True/False instead"
            if info.supports("hybrid_thinking")
            else "remove reasoning_effort or use a model tagged reasoning_effort"
        )
        raise _refusal(model, "does not take reasoning_effort", advice)
    if thinking is None:
        return
    if not isinstance(thinking, bool):
        msg = f"thinking must be True, False or None, got {thinking!r}"
        raise FlexAIConfigError(msg)
    if info is not None and info.supports("always_thinking"):
        if not thinking:
            raise _refusal(
                model,
                "always thinks and cannot turn it off",
                "leave thinking unset, or use a model tagged hybrid_thinking",
            )
        return  # thinking=True on a model that always thinks: nothing to ask for
    extra = dict(payload.get("extra_body") or {})
    extra.update(thinking_body(thinking))
    payload["extra_body"] = extra
