"""An opt-in aiohttp pool under the SDK's async httpx client: less client CPU per request.

Chosen with ``FLEXAI_ASYNC_TRANSPORT=aiohttp`` (read when a ChatFlexAI builds its clients; needs
the ``aiohttp`` extra). The SDK keeps its httpx client (retries, auth, redirects, logging, error
mapping all unchanged); only the per-loop pool under it (:class:`._pools.LoopLocalTransport`)
becomes an aiohttp session instead of httpcore's. Knows how httpx's requests, timeouts, limits,
socket options and exceptions translate to aiohttp and back, so that a refused connection or a
timeout surfaces as the same SDK exception as over httpx. Knows nothing about FlexAI's protocol.

What does not translate: httpx's write timeout (aiohttp has none: a body write is bounded only
by the kernel's send buffer and the read timeout that follows), and httpx's separate cap on idle
keep-alive connections (aiohttp has only the total ``limit``). Proxies are not handled here:
a model with a proxy (``openai_proxy``, or ``HTTP(S)_PROXY``/``ALL_PROXY`` in the environment)
stays on httpx (:mod:`._clients` decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

from langchain_flexai._transport._pools import (
    LIMITS,
    SocketOption,
    sdk_httpx,
    verified_tls_context,
)

try:
    import aiohttp
except ImportError as error:  # pragma: no cover - depends on the installed extras
    msg = (
        "FLEXAI_ASYNC_TRANSPORT=aiohttp needs aiohttp: "
        'pip install "langchain-flexai[aiohttp]" (or unset FLEXAI_ASYNC_TRANSPORT).'
    )
    raise ImportError(msg) from error

__all__ = ["AiohttpPool"]

# Most specific first: aiohttp's timeouts are also connection errors, and its connector error is
# also an OSError. The httpx class decides the SDK's: timeouts -> APITimeoutError, the rest ->
# APIConnectionError, as over httpcore.
_ERRORS: tuple[tuple[type[BaseException], type[sdk_httpx.RequestError]], ...] = (
    (aiohttp.ConnectionTimeoutError, sdk_httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, sdk_httpx.ReadTimeout),
    (asyncio.TimeoutError, sdk_httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, sdk_httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, sdk_httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, sdk_httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, sdk_httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, sdk_httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, sdk_httpx.ReadError),
    (aiohttp.ClientError, sdk_httpx.NetworkError),
)


def _as_httpx(error: Exception, request: sdk_httpx.Request) -> Exception:
    for source, target in _ERRORS:
        if isinstance(error, source):
            # root_cause() (in _errors) walks __cause__ to the OSError, as it does over httpcore.
            mapped = target(str(error) or type(error).__name__, request=request)
            mapped.__cause__ = error
            return mapped
    return error


class _Body(sdk_httpx.AsyncByteStream):
    """A response body read from aiohttp as it arrives (server-sent events stay prompt)."""

    def __init__(self, response: aiohttp.ClientResponse, request: sdk_httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as error:
            raise _as_httpx(error, self._request) from error

    async def aclose(self) -> None:
        # Back to the pool when read to the end; closed otherwise (aiohttp decides).
        self._response.release()


def _socket_factory(options: tuple[SocketOption, ...]) -> Callable[[Any], socket.socket]:
    def make(addr_info: Any) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        try:
            for level, name, value in options:
                sock.setsockopt(level, name, value)
        except OSError:
            sock.close()
            raise
        return sock

    return make


class AiohttpPool(sdk_httpx.AsyncBaseTransport):
    """One event loop's aiohttp session, as an httpx transport (made inside that loop)."""

    def __init__(self, socket_options: tuple[SocketOption, ...] = ()) -> None:
        """Open a session with the SDK's limits and ``socket_options`` on every new socket."""
        connector = aiohttp.TCPConnector(
            limit=LIMITS.max_connections or 0,
            keepalive_timeout=LIMITS.keepalive_expiry,
            # Certificates as httpx finds them (SSL_CERT_FILE / SSL_CERT_DIR), in the context
            # every pool shares: a new loop's session does not load the CA bundle again.
            ssl=verified_tls_context(),
            socket_factory=_socket_factory(socket_options) if socket_options else None,
        )
        # trust_env=False: env proxies never reach here (_clients), and httpx under a transport
        # of ours reads no netrc either. httpx does the decoding (auto_decompress off).
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            auto_decompress=False,
            # httpx's client keeps the cookies (as over httpcore): aiohttp must keep none.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def handle_async_request(self, request: sdk_httpx.Request) -> sdk_httpx.Response:
        """Send ``request`` with httpx's timeouts mapped onto aiohttp's."""
        timeout = request.extensions.get("timeout") or {}
        pool, connect = timeout.get("pool"), timeout.get("connect")
        try:
            data: Any = request.content or None
        except sdk_httpx.RequestNotRead:  # a streamed upload (the SDK sends bytes; be safe)
            data = request.stream
        try:
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=data,
                allow_redirects=False,  # httpx follows them, as over httpcore
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    # aiohttp's `connect` spans the pool wait and the connect: both budgets.
                    connect=None if pool is None or connect is None else pool + connect,
                    sock_connect=connect,
                    sock_read=timeout.get("read"),
                ),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except Exception as error:
            raise _as_httpx(error, request) from error
        return sdk_httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("ascii", "replace"),
            },
        )

    async def aclose(self) -> None:
        """Close the session and its sockets (on the loop that opened them)."""
        await self._session.close()

    def release_without_loop(self) -> None:
        """Shut this pool's sockets down after its loop closed without closing it (best effort).

        Like the httpx sweep in :mod:`._pools`: ``shutdown`` on each socket, then the connector is
        marked closed so that neither it nor the session warns "Unclosed" when collected.
        """
        connector: Any = self._session.connector
        with contextlib.suppress(Exception):  # aiohttp internals; nothing else to do if changed
            protocols = [p for held in connector._conns.values() for p, _ in held]  # noqa: SLF001
            for protocol in [*protocols, *connector._acquired]:  # noqa: SLF001
                transport = protocol.transport
                sock = transport.get_extra_info("socket") if transport is not None else None
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            connector._conns.clear()  # noqa: SLF001
            connector._closed = True  # noqa: SLF001
