"""uvicorn's h11 protocol with a deadline for each request's headers.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive`` seconds, but every
byte received restarts nothing and cancels that timer, so a client trickling a request's
headers one byte at a time holds a connection (and its buffers) forever. This protocol gives
each request ``header_timeout`` seconds, from the connection's start or the previous response,
to complete its headers, then closes the connection. Knows nothing about the app; the body's
own timeout is the server's (``_server.read_body``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """``H11Protocol`` closing a connection whose request headers take over ``header_timeout``."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

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

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def header_timeout_protocol(seconds: float) -> type[asyncio.Protocol]:
    """A ``HeaderDeadlineProtocol`` whose deadline is ``seconds`` (uvicorn takes a class)."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
