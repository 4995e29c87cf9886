"""Shared HTTP connection pools for ChatFlexAI, safe to use from any number of event loops.

langchain-openai caches one async client per base URL; its pooled connections belong to the event
loop that opened them, so the next `asyncio.run(...)` (or the next pytest-asyncio test) that
reuses the model fails with "Event loop is closed". Here the async client is shared the same way
(construction stays cheap), but its transport keeps one pool per running loop, and each pool dies
with its loop: its sockets are closed when the loop shuts down, not left open until exit. The sync
client is shared per setting too. Both are the openai SDK's public `DefaultHttpxClient` /
`DefaultAsyncHttpxClient`; the async pools open their connections on asyncio's transports
(`._asyncio_stream`), and with httptools installed both kinds of pool speak HTTP/1.1 through
`._http11`. Knows nothing about FlexAI's protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Any

import openai

from langchain_flexai._transport._asyncio_stream import on_asyncio_streams
from langchain_flexai._transport._http11 import with_fast_http11
from langchain_flexai._transport._redact import install_log_filter
from langchain_flexai._transport._url_once import AsyncHttpxClient, HttpxClient

try:  # openai>=3 is built on httpx2, an API-identical fork of httpx; older SDKs on httpx.
    import httpx2 as sdk_httpx
except ImportError:  # pragma: no cover - depends on the installed openai SDK
    import httpx as sdk_httpx  # type: ignore[no-redef]

SocketOption = tuple[int, int, int]
PoolFactory = Callable[[tuple[SocketOption, ...]], sdk_httpx.AsyncBaseTransport]

__all__ = [
    "LIMITS",
    "LoopLocalTransport",
    "PoolFactory",
    "SocketOption",
    "sdk_httpx",
    "shared_async_client",
    "shared_sync_client",
    "verified_tls_context",
]

# httpx logs every request's full URL at INFO: mask credentials in it for every client.
install_log_filter()

# The SDK's own pool limits (openai._constants.DEFAULT_CONNECTION_LIMITS).
LIMITS = sdk_httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class _LoopPool:
    """One loop's pool, and the async generator that closes it when the loop shuts down.

    Why a generator: a pooled connection holds its transport, and the transport holds its loop,
    so a weak reference to the loop never dies while the pool lives; and an event loop has no
    close callback. But a loop tracks the async generators first iterated on it, and
    `asyncio.run`, `asyncio.Runner` (pytest-asyncio, anyio) and uvloop all call
    `loop.shutdown_asyncgens()` before closing, while the loop can still run the pool's `aclose`.
    """

    def __init__(self, pool: sdk_httpx.AsyncBaseTransport) -> None:
        self.pool = pool
        self.swept = False
        self.keeper: Any = None

    async def keep(self, on_close: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            on_close(self)
            if not self.swept:
                await self.pool.aclose()

    def sweep(self) -> None:
        """Release a pool whose loop closed without `shutdown_asyncgens` (no loop to await on)."""
        self.swept = True
        release = getattr(self.pool, "release_without_loop", None)  # other pools know their own
        if release is not None:
            release()
        for connection in _connections(self.pool):
            _shutdown_socket(connection)
        # Finish the generator here (its `finally` has nothing to await once swept), so that no
        # finalizer later tries to schedule its close on the closed loop.
        closing = self.keeper.aclose() if self.keeper is not None else None
        if closing is not None:
            with contextlib.suppress(StopIteration, RuntimeError):
                closing.send(None)
            closing.close()


def _connections(pool: sdk_httpx.AsyncBaseTransport) -> list[Any]:
    # httpcore's public `connections` list; absent on other transports, where nothing is swept.
    return list(getattr(getattr(pool, "_pool", None), "connections", None) or ())


def _shutdown_socket(connection: Any) -> None:
    """Shut down one pooled connection's socket without an event loop (best effort).

    `shutdown` (not `close`) is what asyncio's transport socket allows from outside; the file
    descriptor is released when the transport object is collected, which the sweep makes possible
    by dropping the pool.
    """
    # httpcore's connection wraps its HTTP/1.1 one; ours (._http11) holds the stream itself.
    inner = getattr(connection, "_connection", None) or connection
    stream = getattr(inner, "_network_stream", None)
    if stream is None:
        return
    with contextlib.suppress(Exception):  # a stream of another kind, or already closed
        sock = stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def verified_tls_context() -> ssl.SSLContext:
    """The TLS context httpx builds for ``verify=True``, built once per trust setting.

    Building one loads the whole CA bundle (about 25 ms, most of a transport's 36 ms), and a
    per-loop pool is made for every new event loop: each ``asyncio.run`` that sent a request
    paid it again. One context serves any number of loops and threads (each connection wraps
    its own TLS object). httpcore sets the context's ALPN protocols at every connection; every
    transport given this one (httpcore's pools, the opt-in aiohttp sessions) speaks HTTP/1.1
    only, so the list it holds is always ``["http/1.1"]``.
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``, which httpx reads when it builds a context, are part
    of the key, so a changed setting gets a context of its own.
    """
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:  # noqa: ARG001
    # The arguments are the cache key: httpx reads the same two variables itself.
    return sdk_httpx.create_ssl_context()


def _httpcore_pool(socket_options: tuple[SocketOption, ...]) -> sdk_httpx.AsyncBaseTransport:
    return with_fast_http11(
        on_asyncio_streams(
            sdk_httpx.AsyncHTTPTransport(
                verify=verified_tls_context(),
                limits=LIMITS,
                socket_options=list(socket_options) or None,
            )
        )
    )


class LoopLocalTransport(sdk_httpx.AsyncBaseTransport):
    """An async transport with one connection pool per event loop, which closes with its loop.

    A loop that shuts down its async generators (everything built on `asyncio.run` or
    `asyncio.Runner`) closes its pool as it does so; a loop closed without that step has its pool
    released the next time any loop makes a request through this transport.
    """

    def __init__(
        self, socket_options: tuple[SocketOption, ...] = (), pool_factory: PoolFactory | None = None
    ) -> None:
        """Create the transport; pools are made lazily, per loop, on first request.

        ``pool_factory`` makes one loop's pool from the socket options (httpcore's by default;
        :mod:`._aiohttp` gives aiohttp's); it is called inside the loop that will use the pool.
        """
        self._socket_options = socket_options
        self._pool_factory = pool_factory or _httpcore_pool
        self._lock = threading.Lock()  # loops in several threads may share this transport
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = (
            weakref.WeakKeyDictionary()
        )

    def _forget(self, entry: _LoopPool) -> None:
        with self._lock:
            for loop, held in list(self._pools.items()):
                if held is entry:
                    del self._pools[loop]

    def _sweep_closed_loops(self) -> None:
        with self._lock:
            closed = [(loop, e) for loop, e in self._pools.items() if loop.is_closed()]
            for loop, _ in closed:
                del self._pools[loop]
        for _, entry in closed:
            entry.sweep()

    async def _pool(self) -> sdk_httpx.AsyncBaseTransport:
        loop = asyncio.get_running_loop()
        if len(self._pools) > 1 or loop not in self._pools:
            self._sweep_closed_loops()  # a few is_closed() calls; nothing when one loop is used
        entry = self._pools.get(loop)
        if entry is not None:
            return entry.pool
        entry = _LoopPool(self._pool_factory(self._socket_options))
        with self._lock:
            held = self._pools.setdefault(loop, entry)
        if held is entry:
            # First iteration registers the generator with the running loop (its asyncgen hooks).
            entry.keeper = entry.keep(self._forget)
            await entry.keeper.__anext__()
        return held.pool

    async def handle_async_request(self, request: sdk_httpx.Request) -> sdk_httpx.Response:
        """Send through the running loop's own pool."""
        pool = await self._pool()
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the running loop's pool (the others belong to loops that cannot run it)."""
        entry = self._pools.get(asyncio.get_running_loop())
        if entry is not None and entry.keeper is not None:
            await entry.keeper.aclose()  # its `finally` forgets and closes the pool


def _build(
    base_url: str | None,
    timeout: Any,
    socket_options: tuple[SocketOption, ...],
    pool_factory: PoolFactory | None,
) -> Any:
    return AsyncHttpxClient(
        base_url=base_url or "",
        timeout=timeout,
        transport=LoopLocalTransport(socket_options, pool_factory),
    )


@lru_cache
def _cached(
    base_url: str | None,
    timeout: Any,
    socket_options: tuple[SocketOption, ...],
    pool_factory: PoolFactory | None,
) -> Any:
    return _build(base_url, timeout, socket_options, pool_factory)


def shared_async_client(
    base_url: str | None,
    timeout: Any,
    socket_options: tuple[SocketOption, ...] = (),
    pool_factory: PoolFactory | None = None,
) -> Any:
    """The process-wide async client for these settings (a new one if `timeout` is unhashable).

    ``pool_factory`` picks the per-loop pool (httpcore's when None; see `LoopLocalTransport`).
    """
    try:
        hash(timeout)
    except TypeError:
        return _build(base_url, timeout, socket_options, pool_factory)
    return _cached(base_url, timeout, socket_options, pool_factory)


def _build_sync(
    base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...]
) -> openai.DefaultHttpxClient:
    # The SDK's public client class (its defaults: limits, redirects, timeout) over a transport
    # of ours, with the SDK's limits restated (httpx ignores `limits=` beside one): for socket
    # options, and so that the shared client never reads proxy variables itself (a proxy the
    # environment names gets clients of its own, `_clients.environment_proxy`), as the async
    # one under its per-loop transport never does.
    transport = sdk_httpx.HTTPTransport(
        verify=verified_tls_context(),
        socket_options=list(socket_options) or None,
        limits=LIMITS,
    )
    return HttpxClient(
        base_url=base_url or "", timeout=timeout, transport=with_fast_http11(transport)
    )


@lru_cache
def _cached_sync(
    base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...]
) -> openai.DefaultHttpxClient:
    return _build_sync(base_url, timeout, socket_options)


def shared_sync_client(
    base_url: str | None, timeout: Any, socket_options: tuple[SocketOption, ...] = ()
) -> openai.DefaultHttpxClient:
    """The process-wide sync client for these settings (a new one if `timeout` is unhashable).

    Sync pools are not tied to an event loop, so one plain pool per setting is shared.
    """
    try:
        hash(timeout)
    except TypeError:
        return _build_sync(base_url, timeout, socket_options)
    return _cached_sync(base_url, timeout, socket_options)
