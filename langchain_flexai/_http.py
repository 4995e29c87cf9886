"""Shared HTTP connection pools for ChatFlexAI, safe to use from any number of event loops.

langchain-openai caches one async client per base URL; its pooled connections belong to the event
loop that opened them, so the next `asyncio.run(...)` (or the next pytest-asyncio test) that
reuses the model fails with "Event loop is closed". Here the async client is shared the same way
(construction stays cheap), but its transport keeps one pool per running loop. Knows nothing about
FlexAI's protocol.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any

import openai

try:  # openai>=3 is built on httpx2, an API-identical fork of httpx; older SDKs on httpx.
    import httpx2 as sdk_httpx
except ImportError:  # pragma: no cover - depends on the installed openai SDK
    import httpx as sdk_httpx  # type: ignore[no-redef]

SocketOption = tuple[int, int, int]

__all__ = ["LoopLocalTransport", "sdk_httpx", "shared_async_client"]

# The SDK's own pool limits (openai._constants.DEFAULT_CONNECTION_LIMITS).
_LIMITS = sdk_httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class LoopLocalTransport(sdk_httpx.AsyncBaseTransport):
    """An async transport with one connection pool per event loop.

    A pool whose loop has been garbage-collected goes with it (weak keys); a pool whose loop is
    closed is replaced the next time a request comes from a new loop with the same identity.
    """

    def __init__(self, socket_options: tuple[SocketOption, ...] = ()) -> None:
        """Create the transport; pools are made lazily, per loop, on first request."""
        self._socket_options = socket_options
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, sdk_httpx.AsyncHTTPTransport
        ] = weakref.WeakKeyDictionary()

    def _pool(self) -> sdk_httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = sdk_httpx.AsyncHTTPTransport(
                limits=_LIMITS, socket_options=list(self._socket_options) or None
            )
            self._pools[loop] = pool
        return pool

    async def handle_async_request(self, request: sdk_httpx.Request) -> sdk_httpx.Response:
        """Send through the running loop's own pool."""
        return await self._pool().handle_async_request(request)

    async def aclose(self) -> None:
        """Close the running loop's pool (the others belong to loops that cannot run it)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.aclose()


def _build(base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...]) -> Any:
    return openai.DefaultAsyncHttpxClient(
        base_url=base_url or "",
        timeout=timeout,
        transport=LoopLocalTransport(socket_options),
    )


@lru_cache
def _cached(base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...]) -> Any:
    return _build(base_url, timeout, socket_options)


def shared_async_client(
    base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...] = ()
) -> Any:
    """The process-wide async client for these settings (a new one if `timeout` is unhashable)."""
    try:
        hash(timeout)
    except TypeError:
        return _build(base_url, timeout, socket_options)
    return _cached(base_url, timeout, socket_options)
