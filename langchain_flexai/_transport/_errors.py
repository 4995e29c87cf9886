"""FlexAI's HTTP errors, re-raised with FlexAI's own message and what to do about them.

Knows FlexAI's error envelope (``{"error": {"message", "type", "code"}}``) and status codes, the
one hint each error gets (none when FlexAI's own message already gives that advice), and what a
connection failure should name; keeps the openai SDK's exception classes so code that catches
``openai.RateLimitError``, ``openai.APIConnectionError`` (and LangChain's fallbacks) keeps
working. Every error raised through here has its request's credentials masked (so pickling it,
or an error tracker reading it, never stores the key) and a one-line message. The classes it
raises (``FlexAICreditExhaustedError``, ...) live in :mod:`langchain_flexai.errors`. Knows nothing
about messages or images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai

from langchain_flexai._transport._redact import mask_url, scrub_exception
from langchain_flexai.errors import (
    FlexAIConnectionError,
    FlexAICreditExhaustedError,
    FlexAIStreamInterruptedError,
    FlexAITimeoutError,
    escape_text,
)


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception behind ``error`` (the SDK and langchain-openai wrap httpx's)."""
    seen = {id(error)}
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        if id(error) in seen:
            break
        seen.add(id(error))
    return error


def describe_cause(error: BaseException) -> str:
    """``ConnectError: [Errno 111] Connection refused``: the root cause, on one line."""
    cause = root_cause(error)
    text = str(cause)
    return escape_text(f"{type(cause).__name__}: {text}" if text else type(cause).__name__)


def _envelope(error: openai.APIStatusError) -> dict[str, Any]:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def error_code(error: openai.APIStatusError) -> str | None:
    """FlexAI's machine-readable ``code`` from the error envelope, if any."""
    code = _envelope(error).get("code")
    return str(code) if code is not None else None


def flexai_error_message(error: openai.APIStatusError, *, base_url: str | None = None) -> str:
    """Compose the one line a user sees: FlexAI's message, the status and code, and one hint.

    Args:
        error: The SDK's error for FlexAI's answer.
        base_url: The base URL the request went to; a 404 from one without ``/v1`` says so.
    """
    envelope = _envelope(error)
    message = envelope.get("message") or envelope.get("detail")  # FastAPI-style gateways: detail
    if not isinstance(message, str) or not message:
        # No envelope (a proxy's or a gateway's page): the status line, not "Error code: 404".
        response = getattr(error, "response", None)
        message = getattr(response, "reason_phrase", None) or error.message
    code = envelope.get("code")
    status = error.status_code
    label = f"{status} {code}" if code not in (None, "", str(status)) else str(status)
    text = f"FlexAI error {label}: {message.rstrip('. ')}."
    hint = _base_url_hint(status, base_url) or _hint(status, code, message)
    # FlexAI's messages can quote what was sent (a model id, a parameter): keep them one line.
    return escape_text(f"{text} {hint}" if hint else text)


@dataclass(frozen=True)
class _Hint:
    """What to do about an error, unless FlexAI's own message already says it.

    ``said_by``: groups of lower-case words; when every word of one group is in FlexAI's message,
    the message already gives this advice and it is not repeated. ``fact`` is not advice (what
    this package did) and is always added.
    """

    advice: str
    said_by: tuple[tuple[str, ...], ...] = ()
    fact: str = ""

    def text(self, message: str) -> str:
        lowered = message.lower()
        said = any(all(word in lowered for word in group) for group in self.said_by)
        return " ".join(part for part in ("" if said else self.advice, self.fact) if part)


_HINTS_BY_STATUS = {
    401: _Hint(
        "Check the FLEXAI_API_KEY environment variable or the api_key argument.",
        said_by=(("flexai_api_key",),),
    ),
    402: _Hint(
        "Your FlexAI credit is exhausted; top up the account and retry.",
        said_by=(("top up",), ("top-up",), ("add credit",)),
        fact="This request was not retried.",
    ),
    429: _Hint(
        "Rate limited after retries; lower the request rate or raise max_retries.",
        said_by=(("max_retries",),),
    ),
}
_HINTS_BY_CODE = {
    "model_not_found": _Hint(
        "Pass a model id listed by `flexai-vision models` (the bare id, not the Hugging Face id).",
        said_by=(("flexai-vision models",),),
    ),
    "tool_choice_not_honored": _Hint(
        "This model declines forced tool calls; use tool_choice='auto' or another model.",
        said_by=(("tool_choice", "auto"),),
    ),
}
_NOT_MULTIMODAL = _Hint(
    "Send images to a vision model, e.g. model='phi-4-multimodal-instruct'.",
    said_by=(("vision",),),
)


TEXT_ONLY_ANSWER = "is not a multimodal model"
"""What FlexAI's error message says when images went to a model that does not read them."""


def server_refused_images(error_text: str) -> bool:
    """Whether an API error's text is FlexAI refusing images for a text-only model."""
    return TEXT_ONLY_ANSWER in error_text


def _hint(status: int, code: object, message: str) -> str:
    hint = _HINTS_BY_STATUS.get(status)
    if hint is None and isinstance(code, str):
        hint = _HINTS_BY_CODE.get(code)
    if hint is None and (code == "model_not_multimodal" or server_refused_images(message)):
        hint = _NOT_MULTIMODAL
    return hint.text(message) if hint is not None else ""


def _base_url_hint(status: int, base_url: str | None) -> str:
    """A 404 from a base URL without ``/v1``: the usual cause, and the URL that works."""
    if status != 404 or not base_url:  # noqa: PLR2004
        return ""
    shown = mask_url(base_url.rstrip("/"))
    try:
        path = urlsplit(shown).path
    except ValueError:
        return ""
    if path.endswith("/v1"):
        return ""
    return f"base_url {shown} ends without /v1; FlexAI's API lives under /v1: use {shown}/v1."


def to_flexai_error(
    error: openai.APIStatusError, *, base_url: str | None = None
) -> openai.APIStatusError:
    """Return an exception of the same family whose message is FlexAI's, plus one hint.

    The API key never appears: FlexAI's messages do not echo it, and the request the error
    carries (``error.request``, ``error.response.request``) has its credentials masked.
    """
    scrub_exception(error)
    message = flexai_error_message(error, base_url=base_url)
    cls: type[openai.APIStatusError] = type(error)
    if error.status_code == 402:  # noqa: PLR2004
        cls = FlexAICreditExhaustedError
    try:
        return cls(message, response=error.response, body=error.body)
    except TypeError:  # a subclass with another constructor: keep the original, reworded
        error.message = message
        error.args = (message,)
        return error


def add_suggestions(error: openai.APIStatusError, suggestions: list[str]) -> None:
    """Append "Did you mean: ...?" to a model-not-found error's message (nothing when empty)."""
    if suggestions:
        error.message = f"{error.message} Did you mean: {', '.join(suggestions)}?"
        error.args = (error.message,)


def _where(error: openai.APIConnectionError, base_url: str | None) -> str:
    if base_url:
        return mask_url(base_url)
    url = getattr(getattr(error, "request", None), "url", None)
    return mask_url(str(url)) if url is not None else "the configured base_url"


def connection_error(
    error: openai.APIConnectionError, *, base_url: str | None
) -> openai.APIConnectionError:
    """The error for a request that never got an answer: names the URL tried and what to check.

    A timeout stays an ``openai.APITimeoutError``, anything else an ``openai.APIConnectionError``
    (so fallbacks and retries that catch those keep working); the request it carries has its
    credentials masked.
    """
    scrub_exception(error)
    where = _where(error, base_url)
    cause = describe_cause(error)
    cls: type[openai.APIConnectionError]
    if isinstance(error, openai.APITimeoutError):
        cls = FlexAITimeoutError
        message = (
            f"No answer from FlexAI at {where} in time ({cause}). "
            "Raise timeout=..., or check that the server at base_url is up."
        )
    else:
        cls = FlexAIConnectionError
        message = (
            f"Cannot reach FlexAI at {where} ({cause}). Check base_url (or FLEXAI_API_BASE), "
            "the network, and any proxy (openai_proxy, HTTPS_PROXY)."
        )
    message = escape_text(message)
    reworded = cls.__new__(cls, message)
    reworded.__dict__.update(error.__dict__)
    reworded.message = message
    reworded.args = (message,)
    return reworded


def stream_interrupted(error: BaseException, chunks: int) -> FlexAIStreamInterruptedError:
    """The error for a stream whose connection broke after the response started."""
    scrub_exception(error)
    return FlexAIStreamInterruptedError(
        f"FlexAI's stream broke after {chunks} chunks ({describe_cause(error)}): "
        "the answer is truncated. Retry the request."
    )
