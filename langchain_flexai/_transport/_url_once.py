"""Each request URL parsed once per client, instead of twice per request.

httpx's URL parser checks every character in Python: about 40 µs for a FlexAI URL on a quiet
core, and a request pays it twice. The SDK joins the request's path to the client's base URL
(``_prepare_url``), turns the result back into a string, and httpx parses that string again
(``_merge_url``). Both joins are pure functions of their inputs and httpx's URLs are immutable,
so a client keeps the few URLs it sends to (the chat completions path, the catalog, embeddings)
and hands out the same object: the bytes on the wire are the same.

What is kept: the SDK's join, per path, for the base URL it was made with (a client given a new
``base_url`` joins again); httpx's parse, for absolute URLs only (a relative one depends on the
httpx client's own base URL). At most :data:`KEPT` of each per client, so URLs that vary per
request (none do in the SDK's chat or embeddings calls) are parsed as before.

Knows the two private joins it wraps (tests pin their results); knows nothing about FlexAI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import openai

__all__ = ["KEPT", "AsyncHttpxClient", "HttpxClient", "joined", "parsed"]

KEPT = 32

_Url = TypeVar("_Url")


def joined(
    cache: dict[str, tuple[Any, _Url]], base: Any, path: str, join: Callable[[str], _Url]
) -> _Url:
    """The SDK's ``_prepare_url(path)`` for the client's current ``base`` URL, made once."""
    held = cache.get(path)
    if held is not None and held[0] is base:
        return held[1]
    url = join(path)
    if path in cache or len(cache) < KEPT:
        cache[path] = (base, url)
    return url


def parsed(cache: dict[str, _Url], url: Any, merge: Callable[[Any], _Url]) -> _Url:
    """What httpx's ``_merge_url(url)`` gives for an absolute URL string, parsed once."""
    if type(url) is not str or "://" not in url:
        return merge(url)
    held = cache.get(url)
    if held is None:
        held = merge(url)
        if len(cache) < KEPT:
            cache[url] = held
    return held


class HttpxClient(openai.DefaultHttpxClient):
    """The SDK's default httpx client, parsing each absolute request URL once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As the SDK's client."""
        super().__init__(*args, **kwargs)
        self._parsed_urls: dict[str, Any] = {}

    def _merge_url(self, url: Any) -> Any:
        return parsed(self._parsed_urls, url, super()._merge_url)


class AsyncHttpxClient(openai.DefaultAsyncHttpxClient):
    """The SDK's default async httpx client, parsing each absolute request URL once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As the SDK's client."""
        super().__init__(*args, **kwargs)
        self._parsed_urls: dict[str, Any] = {}

    def _merge_url(self, url: Any) -> Any:
        return parsed(self._parsed_urls, url, super()._merge_url)
