"""httpcore's network streams on asyncio's own transports, without anyio in between.

httpcore runs on asyncio through anyio's socket streams. Per request that layer costs more than
the socket work it wraps: every read and write passes anyio's cancel scopes and exception maps,
and every request asks each idle pooled connection whether the server has closed it, which
anyio answers by building its dictionary of socket attributes, a ``getpeername`` call among
them, then polling the socket. Here a stream is an ``asyncio.Protocol`` with a buffer: reads
take what the loop has already received, writes go to the transport, and the idle check is the
protocol's own state plus one poll of the descriptor.

Used by :mod:`._pools` for every per-loop httpcore pool (``AsyncConnectionPool``'s public
``network_backend`` hook): the SDK's httpx client, its retries, redirects and error mapping are
unchanged, and errors are httpcore's own classes, which httpx maps as it maps anyio's. TLS for
an ``https`` origin is asyncio's ``loop.start_tls``. A proxy's pool is httpx's own (a mount for
``openai_proxy`` or a proxy in the environment) and keeps anyio's streams.

Knows asyncio's transport and protocol API and httpcore's stream interface; knows nothing about
HTTP (httpcore's h11 does the protocol) nor about FlexAI.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

try:  # the httpcore under the SDK's httpx (httpx2, the fork openai>=3 uses, has its own)
    import httpcore2 as sdk_httpcore
except ImportError:  # pragma: no cover - depends on the installed openai SDK
    import httpcore as sdk_httpcore  # type: ignore[no-redef]

__all__ = ["AsyncioBackend", "AsyncioStream", "on_asyncio_streams", "sdk_httpcore"]

# Reading pauses when this much is received and not yet read, as asyncio's StreamReader does:
# a slow consumer of a large body must not make the process hold all of it.
_HIGH_WATER = 256 * 1024
# anyio's delay before trying the next address of a host (happy eyeballs, RFC 8305).
_HAPPY_EYEBALLS_DELAY = 0.25
# Writes queued below this many bytes are joined and sent in one call; at or above it, sent.
_COALESCE_BELOW = 64 * 1024


class _Protocol(asyncio.Protocol):
    """What the loop delivers for one connection: received chunks, EOF, loss, flow control."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        # Whoever waits (a read for data, a write for the kernel to drain) is woken by any
        # event and looks again; a list, so that a read and a write may wait at once.
        self.waiters: list[asyncio.Future[None]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self.eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake()

    def _wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered <= _HIGH_WATER // 4:
            self.reading_paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()
        return chunk

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next event; False when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            return False
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self.waiters:
                self.waiters.remove(waiter)
        return True


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(sdk_httpcore.AsyncNetworkStream):
    """One connection as httpcore's network stream."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._poll: Any = None
        self._queued: list[bytes] = []
        self._queued_bytes = 0
        sock = transport.get_extra_info("socket")
        if sock is not None and hasattr(select, "poll"):
            # Registered once: the idle check below is then one poll(0) system call.
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` received bytes; ``b""`` at the end of the stream."""
        if self._queued:
            await self._flush(timeout)
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise sdk_httpcore.ReadError(str(protocol.error)) from protocol.error
                return b""
            if not await protocol.wait(timeout):
                raise sdk_httpcore.ReadTimeout(f"no bytes received within {timeout:g} s")
        return protocol.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Queue ``buffer``: small writes of one step of the task leave in one call.

        httpcore writes a request's headers, then its body: two system calls, two TCP segments
        (TCP_NODELAY), and for a small request the second call costs as much as the first.
        What is queued leaves before the next read, when the queue reaches
        :data:`_COALESCE_BELOW`, or when the task yields to the loop (a body produced slowly
        is not held back).
        """
        if not buffer:
            return
        protocol = self._protocol
        if protocol.eof or self._transport.is_closing():
            raise sdk_httpcore.WriteError(_lost(protocol))
        if not self._queued:
            asyncio.get_running_loop().call_soon(self._send_queued)
        self._queued.append(buffer)
        self._queued_bytes += len(buffer)
        if self._queued_bytes >= _COALESCE_BELOW:
            await self._flush(timeout)

    def _send_queued(self) -> None:
        queued = self._queued
        if not queued or self._transport.is_closing():
            return
        small = self._queued_bytes < _COALESCE_BELOW
        self._queued = []
        self._queued_bytes = 0
        if small or len(queued) == 1:
            self._transport.write(queued[0] if len(queued) == 1 else b"".join(queued))
        else:  # joining would copy a large body only to save one call
            for part in queued:
                self._transport.write(part)

    async def _flush(self, timeout: float | None) -> None:
        """Send what is queued, then wait while the kernel's buffers are full."""
        self._send_queued()
        protocol = self._protocol
        while protocol.writing_paused:
            if protocol.eof:
                raise sdk_httpcore.WriteError(_lost(protocol))
            if not await protocol.wait(timeout):
                raise sdk_httpcore.WriteTimeout(f"the server took no bytes within {timeout:g} s")

    async def aclose(self) -> None:
        """Close at once: a pooled connection has nothing left to send when it is closed."""
        self._transport.abort()
        self._poll = None

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> sdk_httpcore.AsyncNetworkStream:
        """This connection wrapped in TLS (an ``https`` origin)."""
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        await self._flush(timeout)  # anything written in the clear leaves before the handshake
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(
                    self._transport, protocol, ssl_context, server_hostname=server_hostname
                ),
                timeout,
            )
        except asyncio.TimeoutError as error:
            self._transport.abort()
            raise sdk_httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g} s") from error
        except (OSError, ssl.SSLError, EOFError) as error:
            self._transport.abort()
            raise sdk_httpcore.ConnectError(str(error) or type(error).__name__) from error
        if transport is None:  # pragma: no cover - only a server-side start_tls returns None
            raise sdk_httpcore.ConnectError("the TLS handshake gave no transport")
        protocol.transport = transport
        return AsyncioStream(transport, protocol)

    def get_extra_info(self, info: str) -> Any:
        """What httpcore asks of a stream: TLS object, addresses, socket, idle readability."""
        if info == "is_readable":
            # An idle keep-alive connection that has anything to read (data, EOF) was closed
            # or broken by the server: httpcore then drops it instead of sending on it.
            protocol = self._protocol
            if protocol.chunks or protocol.eof or self._transport.is_closing():
                return True
            return bool(self._poll.poll(0)) if self._poll is not None else False
        name = _TRANSPORT_INFO.get(info)
        return self._transport.get_extra_info(name) if name is not None else None


# httpcore's names for what asyncio's transports call otherwise.
_TRANSPORT_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


def _lost(protocol: _Protocol) -> str:
    return str(protocol.error) if protocol.error is not None else "the connection was closed"


class AsyncioBackend(sdk_httpcore.AsyncNetworkBackend):
    """Opens :class:`AsyncioStream` connections on the running loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> sdk_httpcore.AsyncNetworkStream:
        """A TCP connection (asyncio sets TCP_NODELAY; ``socket_options`` are applied after)."""
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        # asyncio's own loops try a host's addresses in turn (happy eyeballs), as anyio does;
        # other loops (uvloop) have no such argument and connect as they do.
        if isinstance(loop, asyncio.BaseEventLoop):
            connecting = loop.create_connection(
                _Protocol, host, port, local_addr=local, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY
            )
        else:
            connecting = loop.create_connection(_Protocol, host, port, local_addr=local)
        transport, protocol = await _connected(connecting, timeout)
        return _with_options(transport, protocol, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> sdk_httpcore.AsyncNetworkStream:
        """A Unix-socket connection (``uds=`` transports)."""
        loop = asyncio.get_running_loop()
        connecting = loop.create_unix_connection(_Protocol, path)
        transport, protocol = await _connected(connecting, timeout)
        return _with_options(transport, protocol, socket_options)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (httpcore's back-off between connection attempts)."""
        await asyncio.sleep(seconds)


async def _connected(connecting: Any, timeout: float | None) -> tuple[Any, _Protocol]:
    try:
        return await asyncio.wait_for(connecting, timeout)
    except asyncio.TimeoutError as error:
        raise sdk_httpcore.ConnectTimeout(f"no connection within {timeout:g} s") from error
    except OSError as error:
        # asyncio reports "[Errno 111] Connect call failed ('host', port)" as a bare OSError;
        # the error a user reads names its cause as the socket does (ConnectionRefusedError:
        # [Errno 111] Connection refused), whichever backend connected. OSError(errno, text)
        # is built as the errno's own subclass.
        cause = OSError(error.errno, os.strerror(error.errno)) if error.errno else error
        raise sdk_httpcore.ConnectError(str(cause) or type(cause).__name__) from cause


def _with_options(
    transport: Any, protocol: _Protocol, socket_options: Iterable[Any] | None
) -> AsyncioStream:
    sock: socket.socket | None = transport.get_extra_info("socket")
    try:
        for option in socket_options or ():
            if sock is not None:
                sock.setsockopt(*option)
    except OSError as error:
        transport.abort()
        raise sdk_httpcore.ConnectError(str(error)) from error
    return AsyncioStream(transport, protocol)


_Transport = TypeVar("_Transport")


def on_asyncio_streams(transport: _Transport) -> _Transport:
    """``transport`` (httpx's ``AsyncHTTPTransport``) with its pool opening connections here.

    httpx builds httpcore's pool and offers no way to hand it a network backend; the pool reads
    this attribute for every connection it opens (what its ``network_backend=`` argument sets).
    A pool of another kind (a proxy's) is left as it is.
    """
    pool = getattr(transport, "_pool", None)
    if type(pool) is sdk_httpcore.AsyncConnectionPool and hasattr(pool, "_network_backend"):
        pool._network_backend = AsyncioBackend()  # noqa: SLF001
    return transport
