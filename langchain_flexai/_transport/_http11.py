"""httpcore's pools with HTTP/1.1 connections that parse on httptools instead of h11.

Per request of a describe run through the emulator, httpcore's HTTP/1.1 connection and h11
under it cost more client CPU than everything this package does to a request (see
:mod:`._http11_wire`). The pools here are httpcore's own (limits, queueing, keep-alive expiry,
pool timeouts, the SDK's httpx client above them, its retries and error mapping); only the
connection each pool opens for a plain origin is this module's: it connects through the pool's
network backend (asyncio's transports for async pools, httpcore's sockets for sync ones), writes
the request head and body in the framing the head declares, and reads the response through
llhttp. Errors are httpcore's classes, which httpx maps as before.

Used when httptools is installed (the ``fast`` extra); without it, and for a pool behind a
proxy, on a Unix socket, with connect retries or HTTP/2, the pool keeps httpcore's connection.
httpcore's per-step debug log lines and its ``trace`` extension are not emitted by these
connections (httpx's own request log line is). Knows httpcore's pool and connection interfaces;
knows nothing about FlexAI.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from langchain_flexai._transport._asyncio_stream import sdk_httpcore

try:
    from langchain_flexai._transport._http11_wire import BodyFramer, ResponseReader, request_head
except ImportError:  # httptools is not installed: the pools keep httpcore's connections
    ResponseReader = None  # type: ignore[assignment,misc]

__all__ = ["AVAILABLE", "with_fast_http11"]

AVAILABLE = ResponseReader is not None
"""Whether httptools is installed, so that pools can use these connections."""

_READ_BYTES = 64 * 1024  # as httpcore's HTTP/1.1 connection reads
_JOIN_BELOW = 64 * 1024  # a sync request's head and small body parts leave in one send
_Transport = TypeVar("_Transport")


class _State(enum.IntEnum):
    NEW = 0
    ACTIVE = 1
    IDLE = 2
    CLOSED = 3


class _Connection:
    """The state both kinds of connection share, and the pool's questions about it."""

    def __init__(
        self,
        origin: Any,
        *,
        ssl_context: Any,
        keepalive_expiry: float | None,
        local_address: str | None,
        socket_options: Any,
        network_backend: Any,
    ) -> None:
        self._origin = origin
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._local_address = local_address
        self._socket_options = socket_options
        self._backend = network_backend
        self._network_stream: Any = None
        self._state = _State.NEW
        self._expire_at: float | None = None
        self._connect_failed = False
        self._requests = 0
        self._reader = ResponseReader()

    def _claim(self, request: Any) -> None:
        """Take the connection for ``request``, or raise ConnectionNotAvailable (untouched)."""
        if not self.can_handle_request(request.url.origin):
            msg = (
                f"Attempted to send request to {request.url.origin} on connection to {self._origin}"
            )
            raise RuntimeError(msg)
        if self._state not in (_State.NEW, _State.IDLE):
            raise sdk_httpcore.ConnectionNotAvailable
        self._state = _State.ACTIVE
        self._expire_at = None
        self._requests += 1

    def _start(self, request: Any) -> tuple[bytes, BodyFramer]:
        # Before a byte is sent or a socket opened; an illegal head closes the connection (as
        # h11's error state does), so that the pool drops it instead of keeping it taken.
        head = request_head(request)
        self._reader.begin(request.method, reuse=not head.close)
        return head.wire, BodyFramer(head)

    def _connect_arguments(self, request: Any) -> tuple[dict[str, Any], Any, dict[str, Any]]:
        timeout = request.extensions.get("timeout", {}).get("connect")
        host = self._origin.host.decode("ascii")
        tcp = {
            "host": host,
            "port": self._origin.port,
            "timeout": timeout,
            "local_address": self._local_address,
            "socket_options": self._socket_options,
        }
        if self._origin.scheme != b"https":
            return tcp, None, {}
        context = self._ssl_context or sdk_httpcore.default_ssl_context()
        context.set_alpn_protocols(["http/1.1"])
        sni = request.extensions.get("sni_hostname") or host
        return tcp, context, {"server_hostname": sni, "timeout": timeout}

    def _response(self, content: Any) -> Any:
        reader = self._reader
        return sdk_httpcore.Response(
            status=reader.status,
            headers=reader.headers,
            content=content,
            extensions={
                "http_version": b"HTTP/" + reader.version,
                "reason_phrase": reader.reason,
                "network_stream": self._network_stream,
            },
        )

    def _keep(self) -> bool:
        """After a response: back to the pool (True) if it ended cleanly and may be reused."""
        if self._state is _State.ACTIVE and self._reader.complete and self._reader.reusable:
            self._state = _State.IDLE
            if self._keepalive_expiry is not None:
                self._expire_at = time.monotonic() + self._keepalive_expiry
            return True
        return False

    # -- httpcore's connection interface -----------------------------------------------------

    def can_handle_request(self, origin: Any) -> bool:
        return bool(origin == self._origin)

    def is_available(self) -> bool:
        return self._state is _State.IDLE

    def has_expired(self) -> bool:
        if self._network_stream is None:
            return self._connect_failed
        expire_at = self._expire_at
        if expire_at is not None and time.monotonic() > expire_at:
            return True
        # An idle connection with something to read was closed (or broken) by the server.
        return self._state is _State.IDLE and bool(
            self._network_stream.get_extra_info("is_readable")
        )

    def is_idle(self) -> bool:
        return (
            self._state is _State.IDLE if self._network_stream is not None else self._connect_failed
        )

    def is_closed(self) -> bool:
        return self._state is _State.CLOSED or (
            self._network_stream is None and self._connect_failed
        )

    def is_connected(self) -> bool:
        return self._network_stream is not None and self._state is not _State.CLOSED

    def can_multiplex(self) -> bool:
        return False

    def info(self) -> str:
        return (
            f"{str(self._origin)!r}, HTTP/1.1, {self._state.name}, Request Count: {self._requests}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


class AsyncConnection(_Connection, sdk_httpcore.AsyncConnectionInterface):
    """One HTTP/1.1 connection of an async pool."""

    async def handle_async_request(self, request: Any) -> Any:
        self._claim(request)
        timeouts = request.extensions.get("timeout", {})
        try:
            head, framer = self._start(request)
            if self._network_stream is None:
                await self._connect(request)
            stream = self._network_stream
            write_timeout = timeouts.get("write")
            try:
                await stream.write(head, write_timeout)
                async for chunk in request.stream:
                    await stream.write(framer.frame(chunk), write_timeout)
                await stream.write(framer.end(), write_timeout)
            except sdk_httpcore.WriteError:
                pass  # the server may have answered and closed early: read what it said
            reader = self._reader
            read_timeout = timeouts.get("read")
            while not reader.head_done:
                reader.feed(await stream.read(_READ_BYTES, read_timeout))
            return self._response(_AsyncBody(self, read_timeout))
        except BaseException:
            await self.aclose()
            raise

    async def _connect(self, request: Any) -> None:
        tcp, context, tls = self._connect_arguments(request)
        try:
            stream = await self._backend.connect_tcp(**tcp)
            if context is not None:
                stream = await stream.start_tls(context, **tls)
        except BaseException:
            self._connect_failed = True
            raise
        self._network_stream = stream

    async def release(self) -> None:
        if not self._keep():
            await self.aclose()

    async def aclose(self) -> None:
        self._state = _State.CLOSED
        if self._network_stream is not None:
            await self._network_stream.aclose()


class _AsyncBody:
    """A response body as it arrives; closing it returns the connection or closes it."""

    def __init__(self, connection: AsyncConnection, timeout: float | None) -> None:
        self._connection = connection
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self._connection._reader  # noqa: SLF001 - the connection's own parser
        stream = self._connection._network_stream  # noqa: SLF001
        try:
            while True:
                chunk = reader.take_body()
                if chunk:
                    yield chunk
                elif reader.complete:
                    return
                else:
                    reader.feed(await stream.read(_READ_BYTES, self._timeout))
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._connection.release()


class SyncConnection(_Connection, sdk_httpcore.ConnectionInterface):
    """One HTTP/1.1 connection of a sync pool (used by one thread at a time)."""

    def __init__(self, origin: Any, **options: Any) -> None:
        super().__init__(origin, **options)
        self._lock = threading.Lock()

    def handle_request(self, request: Any) -> Any:
        with self._lock:
            self._claim(request)
        timeouts = request.extensions.get("timeout", {})
        try:
            head, framer = self._start(request)
            if self._network_stream is None:
                self._connect(request)
            stream = self._network_stream
            write_timeout = timeouts.get("write")
            try:
                # A small request leaves in one send (one system call, one TCP segment), as
                # the async streams send it (._asyncio_stream); a large body is not copied.
                pending = head
                for chunk in request.stream:
                    data = framer.frame(chunk)
                    if len(pending) + len(data) > _JOIN_BELOW:
                        stream.write(pending, write_timeout)
                        pending = b""
                    pending += data
                stream.write(pending + framer.end(), write_timeout)
            except sdk_httpcore.WriteError:
                pass  # the server may have answered and closed early: read what it said
            reader = self._reader
            read_timeout = timeouts.get("read")
            while not reader.head_done:
                reader.feed(stream.read(_READ_BYTES, read_timeout))
            return self._response(_SyncBody(self, read_timeout))
        except BaseException:
            self.close()
            raise

    def _connect(self, request: Any) -> None:
        tcp, context, tls = self._connect_arguments(request)
        try:
            stream = self._backend.connect_tcp(**tcp)
            if context is not None:
                stream = stream.start_tls(context, **tls)
        except BaseException:
            self._connect_failed = True
            raise
        self._network_stream = stream

    def release(self) -> None:
        with self._lock:
            kept = self._keep()
        if not kept:
            self.close()

    def close(self) -> None:
        self._state = _State.CLOSED
        if self._network_stream is not None:
            self._network_stream.close()


class _SyncBody:
    """A response body as it arrives; closing it returns the connection or closes it."""

    def __init__(self, connection: SyncConnection, timeout: float | None) -> None:
        self._connection = connection
        self._timeout = timeout
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        reader = self._connection._reader  # noqa: SLF001 - the connection's own parser
        stream = self._connection._network_stream  # noqa: SLF001
        try:
            while True:
                chunk = reader.take_body()
                if chunk:
                    yield chunk
                elif reader.complete:
                    return
                else:
                    reader.feed(stream.read(_READ_BYTES, self._timeout))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._connection.release()


def _plain(pool: Any) -> bool:
    # What these connections implement: HTTP/1.1 over TCP (or TLS), straight to the origin.
    return (
        pool._proxy is None  # noqa: SLF001 - the pool's own settings, read by its subclass
        and pool._uds is None  # noqa: SLF001
        and pool._http1  # noqa: SLF001
        and not pool._http2  # noqa: SLF001
        and pool._retries == 0  # noqa: SLF001
    )


def _options(pool: Any) -> dict[str, Any]:
    return {
        "ssl_context": pool._ssl_context,  # noqa: SLF001
        "keepalive_expiry": pool._keepalive_expiry,  # noqa: SLF001
        "local_address": pool._local_address,  # noqa: SLF001
        "socket_options": pool._socket_options,  # noqa: SLF001
        "network_backend": pool._network_backend,  # noqa: SLF001
    }


class _AsyncPool(sdk_httpcore.AsyncConnectionPool):
    def create_connection(self, origin: Any) -> Any:
        if not _plain(self):
            return super().create_connection(origin)
        return AsyncConnection(origin, **_options(self))


class _SyncPool(sdk_httpcore.ConnectionPool):
    def create_connection(self, origin: Any) -> Any:
        if not _plain(self):
            return super().create_connection(origin)
        return SyncConnection(origin, **_options(self))


_POOLS: dict[type, type] = {
    sdk_httpcore.AsyncConnectionPool: _AsyncPool,
    sdk_httpcore.ConnectionPool: _SyncPool,
}


def with_fast_http11(transport: _Transport) -> _Transport:
    """``transport`` (httpx's HTTP transport) with its pool opening these connections.

    httpx builds httpcore's pool and offers no hook for its connections; the pool's class is
    switched to a subclass whose only change is ``create_connection`` (httpcore's extension
    point, which its proxy pools override the same way). Every setting httpx gave the pool
    stays. Without httptools, or for a pool of another kind (a proxy's), nothing changes.
    """
    pool = getattr(transport, "_pool", None)
    fast = _POOLS.get(type(pool))
    if AVAILABLE and fast is not None:
        pool.__class__ = fast
    return transport
