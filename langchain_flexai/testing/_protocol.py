"""uvicorn's HTTP protocols with a deadline for each request's headers.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive`` seconds, but every
byte received restarts nothing and cancels that timer, so a client trickling a request's
headers one byte at a time holds a connection (and its buffers) forever. These protocols give
each request ``header_timeout`` seconds, from the connection's start or the previous response,
to complete its headers, then close the connection.

Two parsers, one rule: httptools (uvicorn's fast C parser, in ``uvicorn[standard]``) when it
is installed, else h11 (pure Python, always there with uvicorn). ``header_timeout_protocol``
picks. Knows nothing about the app; the body's own timeout is the server's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

FAST_PROTOCOL: type[asyncio.Protocol] | None = None
"""The httptools deadline protocol, or None when httptools is not installed."""


class _HeaderTimer:
    """The deadline timer both protocols share; ``_awaiting_headers`` says when it applies."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: Any

    def _awaiting_headers(self) -> bool:
        raise NotImplementedError

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.transport.close()


class HeaderDeadlineProtocol(_HeaderTimer, H11Protocol):
    """``H11Protocol`` closing a connection whose request headers take over ``header_timeout``."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()  # the request line and headers are in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # the next request's headers get their own deadline

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: h11 only
    pass
else:

    class HttpToolsDeadlineProtocol(_HeaderTimer, HttpToolsProtocol):
        """``HttpToolsProtocol`` with the same header deadline.

        httptools parses pipelined requests as they arrive, so "awaiting headers" is counted:
        requests whose headers are in minus responses completed. The timer runs only while
        that is zero (nothing in flight or queued).
        """

        _headers_in = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def on_headers_complete(self) -> None:
            self._headers_in += 1
            self._cancel_header_timer()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._headers_in -= 1
            super().on_response_complete()
            if self._awaiting_headers() and not self.transport.is_closing():
                self._arm_header_timer()

        def _awaiting_headers(self) -> bool:
            return self._headers_in <= 0

    FAST_PROTOCOL = HttpToolsDeadlineProtocol


def header_timeout_protocol(seconds: float) -> type[asyncio.Protocol]:
    """A deadline protocol whose deadline is ``seconds`` (uvicorn takes a class).

    httptools when installed (several times cheaper per request than h11), else h11.
    """
    base = FAST_PROTOCOL if FAST_PROTOCOL is not None else HeaderDeadlineProtocol
    return type(base.__name__, (base,), {"header_timeout": seconds})
