"""One request's errors, results and stream end: what the four entry points of ChatFlexAI share.

Knows which exceptions the transport raises (httpx's, the SDK's httpx2 fork's, the SDK's own
connection error), how to tell a connection that broke mid-answer from one that never connected,
that a chat completion stream always ends with a ``finish_reason``, and where a request's image
counts go on its result (every generation; a stream's first chunk). Maps errors through the
callables it is given (FlexAI's error semantics live in :mod:`._errors` and the chat model) and
scrubs credentials from anything else it lets through. Knows nothing about content or pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

import httpx
import openai

from langchain_flexai._transport._errors import stream_interrupted
from langchain_flexai._transport._pools import sdk_httpx
from langchain_flexai._transport._redact import scrub_exception
from langchain_flexai.errors import FlexAIStreamInterruptedError

if TYPE_CHECKING:
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

__all__ = ["TRANSPORT_ERRORS", "StreamGuard", "flexai_errors", "with_image_stats"]


class _Stats(Protocol):
    """The image counts of a request (``content.ImageStats``), as far as a stream needs them."""

    @property
    def images(self) -> int: ...

    def as_metadata(self) -> Mapping[str, object]: ...


# The openai SDK (>=3) raises httpx2's classes; a user-supplied http_client may raise httpx's.
TRANSPORT_ERRORS = (httpx.HTTPError, sdk_httpx.HTTPError, openai.APIConnectionError)
_MID_STREAM_ERRORS = tuple(
    cls
    for module in (httpx, sdk_httpx)
    for cls in (module.RemoteProtocolError, module.ReadError, module.ReadTimeout)
)


class StreamGuard:
    """Watches a stream: puts image counts on the first chunk, and refuses a silent truncation.

    The openai SDK ends a stream quietly when the connection closes early without `[DONE]`;
    an answer cut off that way would look complete. A chat completion stream always ends with a
    chunk carrying `finish_reason`, so its absence means the answer was cut.
    """

    def __init__(self, stats: _Stats) -> None:
        self._stats = stats
        self._count = 0
        self._finished = False

    def see(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        if self._count == 0 and self._stats.images:
            chunk.message.response_metadata.update(self._stats.as_metadata())
        self._count += 1
        if (chunk.generation_info or {}).get("finish_reason"):
            self._finished = True
        return chunk

    def broke_mid_stream(self, error: BaseException) -> bool:
        """Whether a transport error cut an answer that had started (vs. never connecting).

        The SDK and langchain-openai wrap httpx's errors ("Connection error."), so look down the
        chain for the read-side failures that only happen once a response is flowing.
        """
        if self._count:
            return True
        if isinstance(error, openai.APIConnectionError):
            # The SDK wraps only what fails while sending, before any response arrived.
            return False
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, _MID_STREAM_ERRORS):
                return True
            cause = cause.__cause__ or cause.__context__
        return False

    def interrupted(self, error: BaseException) -> FlexAIStreamInterruptedError:
        """The error for a connection that broke after the response started."""
        return stream_interrupted(error, self._count)

    def finish(self, *, structured: bool) -> None:
        # Structured-output streams go through the SDK's own stream helper, which validates the
        # final completion itself.
        if not self._finished and not structured:
            msg = (
                f"FlexAI's stream ended after {self._count} chunks without a finish_reason: "
                "the answer is truncated (connection dropped or the server stopped early). "
                "Retry the request."
            )
            raise FlexAIStreamInterruptedError(msg)


@contextmanager
def flexai_errors(
    on_status: Callable[[openai.APIStatusError], BaseException],
    on_connection: Callable[[openai.APIConnectionError], BaseException],
    guard: StreamGuard | None = None,
) -> Iterator[None]:
    """Map what one request raises: status and connection errors, mid-stream breaks, the rest.

    ``on_status`` and ``on_connection`` build the errors raised instead (chained to the
    original). With a ``guard``, a transport error after the answer started becomes
    ``FlexAIStreamInterruptedError``. Anything else goes through with its request scrubbed of
    credentials (schema validation errors, a user client's httpx errors, ...).
    """
    try:
        yield
    except openai.APIStatusError as error:
        raise on_status(error) from error
    except TRANSPORT_ERRORS as error:
        if guard is not None and guard.broke_mid_stream(error):
            raise guard.interrupted(error) from error
        if isinstance(error, openai.APIConnectionError):
            raise on_connection(error) from error
        scrub_exception(error)
        raise
    except Exception as error:
        scrub_exception(error)
        raise


def with_image_stats(result: ChatResult, stats: _Stats) -> ChatResult:
    """``result`` with the request's image counts in every generation's response metadata."""
    if stats.images:
        for generation in result.generations:
            generation.message.response_metadata.update(stats.as_metadata())
    return result
