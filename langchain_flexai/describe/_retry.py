"""Retry decisions of a describe run: what is worth asking again, after how long, what stops it.

Knows the openai SDK's error classes and HTTP statuses (429, 408 and 5xx are retried, with
``Retry-After`` honoured or exponential backoff, and so are connection errors, timeouts and a
stream cut mid-answer, :class:`~langchain_flexai.api_errors.FlexAIStreamInterruptedError`: all
transient; 401/402/403, an unknown or text-only model, and a server still rate-limiting or
unreachable after every retry stop the run), and how to turn off
the SDK's own retries for a model built on it. Knows nothing about scheduling or rate limiting:
:mod:`langchain_flexai.describe` waits, counts and sends.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel

from langchain_flexai.catalog.capabilities import server_refused_images
from langchain_flexai.errors import FlexAIStreamInterruptedError

_MAX_RETRY_AFTER = 300.0
_FIRST_BACKOFF = 0.5
_MAX_BACKOFF = 30.0
_FATAL_STATUSES = frozenset({401, 402, 403})
_HTTP_REQUEST_TIMEOUT = 408
_HTTP_TOO_MANY_REQUESTS = 429
_HTTP_SERVER_ERROR = 500


def format_seconds(seconds: float) -> str:
    """A wait for a log line: ``"250 ms"`` below a second, else ``"1.5 s"``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def without_sdk_retries(model: BaseChatModel) -> BaseChatModel:
    """A shallow copy of ``model`` whose openai SDK clients never retry, or ``model`` itself.

    The SDK's retries happen inside one ``invoke`` and never pass the describer's rate limiter;
    with them off, every HTTP attempt is one the describer chose to send. The copy shares the
    HTTP connection pools (``with_options`` keeps the client's ``http_client``). Models not built
    on the openai SDK are returned as they are (their own retries, if any, stay).
    """
    update: dict[str, Any] = {}
    root = getattr(model, "root_client", None)
    if isinstance(root, openai.OpenAI):
        sync_root = root.with_options(max_retries=0)
        update |= {"root_client": sync_root, "client": sync_root.chat.completions}
    async_root = getattr(model, "root_async_client", None)
    if isinstance(async_root, openai.AsyncOpenAI):
        aroot = async_root.with_options(max_retries=0)
        update |= {"root_async_client": aroot, "async_client": aroot.chat.completions}
    if not update:
        return model
    if "max_retries" in type(model).model_fields:
        update["max_retries"] = 0
    return model.model_copy(update=update)


def _retry_after_header(error: BaseException) -> float | None:
    """The ``Retry-After`` of an error response in seconds (capped), or None without one."""
    response = getattr(error, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if not isinstance(header, str) or not header:
        return None
    seconds: float
    try:
        seconds = float(header)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(header).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _backoff(attempt: int) -> float:
    return min(_MAX_BACKOFF, _FIRST_BACKOFF * 2.0**attempt)


def is_rate_limited(error: BaseException) -> bool:
    return getattr(error, "status_code", None) == _HTTP_TOO_MANY_REQUESTS


def retry_delay(error: BaseException, attempt: int) -> float | None:
    """Seconds to wait before asking again after ``error``, or None when no retry can help."""
    if isinstance(error, (openai.APIConnectionError, FlexAIStreamInterruptedError)):
        # Timeouts included. A stream cut mid-answer is the same failure as a dropped
        # connection, only later: the truncated answer is thrown away and the image asked again.
        return _backoff(attempt)
    status = getattr(error, "status_code", None)
    if not isinstance(status, int):
        return None
    if status in (_HTTP_TOO_MANY_REQUESTS, _HTTP_REQUEST_TIMEOUT) or status >= _HTTP_SERVER_ERROR:
        header = _retry_after_header(error)
        return _backoff(attempt) if header is None else header
    return None


# Errors that mean code is wrong (ours, or a custom model's), not that a request failed: a record
# saying "TypeError" on every image would hide the bug and bill a run that cannot work.
_PROGRAMMING_ERRORS = (
    AssertionError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    NameError,
    NotImplementedError,
    TypeError,
)


def is_fatal(error: BaseException, *, retries_exhausted: bool) -> bool:
    """An error no image can avoid: the whole run stops instead of failing every image.

    That is a key, credit, model or server problem that every request would meet, or a
    programming error: API, network and input failures become records, a bug stops the run.
    """
    if isinstance(error, _PROGRAMMING_ERRORS):
        return True
    if retries_exhausted and (
        is_rate_limited(error)
        or (
            isinstance(error, openai.APIConnectionError)
            and not isinstance(error, openai.APITimeoutError)
        )
    ):
        # Still rate-limited or still unreachable after every retry: the next image would fare
        # no better, and 10,000 images failing one by one would take hours.
        return True
    if not isinstance(error, openai.APIStatusError):
        return False
    if error.status_code in _FATAL_STATUSES:
        return True
    text = str(error)
    return "model_not_found" in text or server_refused_images(text)
