"""Request bodies encoded once, by us: the openai SDK clients that send JSON bytes as they are.

The SDK re-walks every body against its TypedDict annotations (``maybe_transform``: a no-op for
chat completions, whose parameter types carry no aliases or formats) and then encodes it with the
standard-library JSON encoder, about 300 MB/s: most of a request's client CPU once it carries
megabytes of base64. Here the chat completions ``create`` builds the body dict without the re-walk,
and the client's ``post`` encodes every JSON mapping body once, with orjson when installed (extra
``fast``), else with the same single stdlib pass the SDK makes, and hands the SDK the bytes
(``content=``), which it sends untouched, retries included.

The bytes are the same JSON value the SDK would send (tests compare them): same keys, ``extra_body``
merged the SDK's way (its keys win, ``Omit`` dropped), ``ensure_ascii=False``, no NaN. Anything
orjson refuses (non-string keys, integers beyond 64 bits, surrogates) goes to the stdlib pass,
which raises what the SDK would. Known difference: a NaN or infinity nested below the top level
(in a tool schema, say) is sent as ``null`` by orjson where the SDK raises ``ValueError``.

Knows the SDK's request plumbing (``post``, request options, ``Stream`` classes); knows nothing
about messages, images or FlexAI's protocol.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cached_property
from typing import Any

import openai
import pydantic
from openai import AsyncStream, Omit, Stream, omit
from openai._base_client import make_request_options
from openai.resources.chat import AsyncChat, Chat
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.chat.completions.completions import validate_response_format
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from langchain_flexai._transport._url_once import joined

try:  # the `fast` extra
    import orjson
except ImportError:  # pragma: no cover - depends on the installed extras
    orjson = None  # type: ignore[assignment]

__all__ = ["AsyncFlexAIOpenAI", "FlexAIOpenAI", "encode_json"]

_CHAT_PATH = "/chat/completions"
_OPTION_NAMES = ("extra_headers", "extra_query", "extra_body", "timeout")
# The keyword arguments `create` accepts (its implementation's signature, behind `required_args`).
_CREATE_NAMES = frozenset(inspect.signature(Completions.create).parameters) - {"self"}


def _default(value: Any) -> Any:
    """What the SDK's encoder and its re-walk make of values JSON has no type for."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(exclude_unset=True, mode="json", by_alias=True)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
        return list(value)  # the re-walk lists any iterable given for an array
    msg = f"Object of type {type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def _stdlib(body: Mapping[str, Any]) -> bytes:
    # The SDK's own settings (openai._utils._json.openapi_dumps): httpx's JSON defaults.
    return json.dumps(
        body, default=_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def encode_json(body: Mapping[str, Any]) -> bytes:
    """``body`` as the UTF-8 JSON bytes the SDK would send (one pass; orjson when installed).

    Raises:
        ValueError: A NaN or infinite top-level number (as the SDK does).
        TypeError: A value JSON cannot carry (as the SDK does).
    """
    # orjson writes NaN as null; the SDK refuses it. Top-level numbers (temperature, top_p) are
    # where one can come from a setting: check them here, without walking the messages.
    if orjson is not None and not any(
        isinstance(value, float) and not math.isfinite(value) for value in body.values()
    ):
        try:
            return orjson.dumps(body, default=_default)
        except TypeError:  # orjson.JSONEncodeError: let the stdlib pass decide, or raise
            pass
    return _stdlib(body)


def _encoded(body: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The bytes to send and the options left: ``extra_body`` merged as the SDK merges it."""
    options = dict(options)
    extra = options.pop("extra_json", None)
    if extra is not None:
        body = {k: v for k, v in {**body, **extra}.items() if not isinstance(v, Omit)}
    return encode_json(body), options


def _create_request(params: dict[str, Any]) -> tuple[dict[str, Any], Any, bool]:
    """``create``'s body, request options and stream flag, as the SDK's ``create`` makes them.

    The body is the given parameters as they are: the SDK's re-walk of them is skipped.
    """
    unknown = sorted(params.keys() - _CREATE_NAMES)
    if unknown:
        msg = f"create() got an unexpected keyword argument {unknown[0]!r}"
        raise TypeError(msg)
    if "messages" not in params or "model" not in params:
        msg = (
            "Missing required arguments; Expected either ('messages' and 'model') or "
            "('messages', 'model' and 'stream') arguments to be given"
        )
        raise TypeError(msg)
    validate_response_format(params.get("response_format", omit))
    body = {
        key: value
        for key, value in params.items()
        if key not in _OPTION_NAMES and not isinstance(value, Omit | openai.NotGiven)
    }
    options = make_request_options(
        extra_headers=params.get("extra_headers"),
        extra_query=params.get("extra_query"),
        extra_body=params.get("extra_body"),
        timeout=params.get("timeout", openai.NOT_GIVEN),
        security={"bearer_auth": True},
    )
    return body, options, bool(params.get("stream"))


class _Completions(Completions):
    """Chat completions whose ``create`` skips the SDK's re-walk of the body."""

    def create(self, **params: Any) -> Any:
        body, options, stream = _create_request(params)
        return self._post(
            _CHAT_PATH,
            body=body,
            options=options,
            cast_to=ChatCompletion,
            stream=stream,
            stream_cls=Stream[ChatCompletionChunk],
        )


class _AsyncCompletions(AsyncCompletions):
    """Async chat completions whose ``create`` skips the SDK's re-walk of the body."""

    async def create(self, **params: Any) -> Any:
        body, options, stream = _create_request(params)
        return await self._post(
            _CHAT_PATH,
            body=body,
            options=options,
            cast_to=ChatCompletion,
            stream=stream,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class _Chat(Chat):
    @cached_property
    def completions(self) -> _Completions:
        return _Completions(self._client)


class _AsyncChat(AsyncChat):
    @cached_property
    def completions(self) -> _AsyncCompletions:
        return _AsyncCompletions(self._client)


class FlexAIOpenAI(openai.OpenAI):
    """The SDK's client, sending every JSON body as bytes encoded once (see the module doc)."""

    @cached_property
    def _joined_urls(self) -> dict[str, tuple[Any, Any]]:
        return {}

    def _prepare_url(self, url: str) -> Any:
        return joined(self._joined_urls, self._base_url, url, super()._prepare_url)

    @cached_property
    def chat(self) -> _Chat:
        """Chat completions with the body built without the SDK's re-walk."""
        return _Chat(self)

    def post(self, path: str, *, body: Any = None, options: Any = None, **kwargs: Any) -> Any:
        """The SDK's ``post``, with a JSON mapping body encoded here."""
        options = options or {}
        if isinstance(body, Mapping) and kwargs.get("files") is None:
            content, options = _encoded(body, options)
            return super().post(path, content=content, options=options, **kwargs)
        return super().post(path, body=body, options=options, **kwargs)


class AsyncFlexAIOpenAI(openai.AsyncOpenAI):
    """The SDK's async client, sending every JSON body as bytes encoded once."""

    @cached_property
    def _joined_urls(self) -> dict[str, tuple[Any, Any]]:
        return {}

    def _prepare_url(self, url: str) -> Any:
        return joined(self._joined_urls, self._base_url, url, super()._prepare_url)

    @cached_property
    def chat(self) -> _AsyncChat:
        """Chat completions with the body built without the SDK's re-walk."""
        return _AsyncChat(self)

    async def post(self, path: str, *, body: Any = None, options: Any = None, **kwargs: Any) -> Any:
        """The SDK's ``post``, with a JSON mapping body encoded here."""
        options = options or {}
        if isinstance(body, Mapping) and kwargs.get("files") is None:
            content, options = _encoded(body, options)
            return await super().post(path, content=content, options=options, **kwargs)
        return await super().post(path, body=body, options=options, **kwargs)
