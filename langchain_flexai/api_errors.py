"""FlexAI's HTTP errors, re-raised with FlexAI's own message and what to do about them.

Knows FlexAI's error envelope (``{"error": {"message", "type", "code"}}``) and status codes; keeps
the openai SDK's exception classes so code that catches ``openai.RateLimitError`` or
``openai.BadRequestError`` (and LangChain's fallbacks) keeps working. Knows nothing about
messages or images.
"""

from __future__ import annotations

from typing import Any

import openai


class FlexAICreditExhaustedError(openai.APIStatusError):
    """FlexAI answered 402 ``insufficient_quota``: the account's credit is spent.

    Not retried: it works again once the account is topped up.
    """


class FlexAIStreamInterruptedError(ConnectionError):
    """A stream ended before the model finished: what arrived is a truncated answer."""


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception behind ``error`` (the SDK and langchain-openai wrap httpx's)."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


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


def flexai_error_message(error: openai.APIStatusError) -> str:
    """Compose the text a user sees: FlexAI's message, the status and code, and a hint."""
    envelope = _envelope(error)
    message = str(envelope.get("message") or error.message)
    code = envelope.get("code")
    status = error.status_code
    label = f"{status} {code}" if code not in (None, "", str(status)) else str(status)
    text = f"FlexAI error {label}: {message.rstrip('. ')}"
    hint = _hint(status, code, message)
    return f"{text}. {hint}" if hint else text


_HINTS_BY_STATUS = {
    401: "Check the FLEXAI_API_KEY environment variable or the api_key argument.",
    402: "Your FlexAI credit is exhausted; top up the account and retry. "
    "This request was not retried.",
    429: "Rate limited after retries; lower the request rate or raise max_retries.",
}
_HINTS_BY_CODE = {
    "model_not_found": "Pass a model id listed by `flexai-vision models` "
    "(the bare id, not the Hugging Face id).",
    "tool_choice_not_honored": "This model declines forced tool calls; "
    "use tool_choice='auto' or another model.",
}


def _hint(status: int, code: object, message: str) -> str:
    if status in _HINTS_BY_STATUS:
        return _HINTS_BY_STATUS[status]
    if isinstance(code, str) and code in _HINTS_BY_CODE:
        return _HINTS_BY_CODE[code]
    if "is not a multimodal model" in message:
        return "Send images to a vision model, e.g. model='phi-4-multimodal-instruct'."
    return ""


def to_flexai_error(error: openai.APIStatusError) -> openai.APIStatusError:
    """Return an exception of the same family whose message is FlexAI's, plus a hint.

    The API key never appears: FlexAI's messages do not echo it and the request is not included.
    """
    message = flexai_error_message(error)
    cls: type[openai.APIStatusError] = type(error)
    if error.status_code == 402:  # noqa: PLR2004
        cls = FlexAICreditExhaustedError
    try:
        return cls(message, response=error.response, body=error.body)
    except TypeError:  # a subclass with another constructor: keep the original, reworded
        error.message = message
        error.args = (message,)
        return error
