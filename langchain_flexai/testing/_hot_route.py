"""The emulator's hot route as a bare ASGI app in front of Starlette.

Nearly every request a test suite or a describe run sends is ``POST /v1/chat/completions``.
Through Starlette it pays for three middlewares, the router, a ``Request`` and the wrappers
each adds around ``send``: about a fifth of a small image request's CPU. ``HotRouteApp``
hands that one method and path straight to its handler with a ``HotRequest`` (what the
gateway reads: method, path, headers, the body stream; same semantics as Starlette's) and
sends the handler's Starlette ``Response`` itself; everything else goes to the Starlette app
unchanged (other routes, 404 / 405, redirects). ``CompactJSONResponse`` renders the bytes
Starlette's ``JSONResponse`` renders, with orjson when installed (the ``fast`` extra).

Knows nothing of FlexAI's protocol: which checks run and what is answered is ``_server``'s.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

try:
    import orjson
except ImportError:  # the `fast` extra is optional: the stdlib renders the same bytes
    orjson = None  # type: ignore[assignment]

HotHandler = Callable[["HotRequest"], Awaitable[Response]]


class HotRequest:
    """The part of a Starlette ``Request`` the gateway reads, built from the scope alone."""

    __slots__ = ("_receive", "headers", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        """A view of one ASGI request (the body is read once, through ``stream``)."""
        self.scope = scope
        self.headers = Headers(scope=scope)
        self._receive = receive

    @property
    def method(self) -> str:
        """The HTTP method, e.g. ``POST``."""
        method: str = self.scope["method"]
        return method

    async def stream(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive, like ``Request.stream`` (empty chunks skipped).

        Raises:
            ClientDisconnect: the client went away before the body was complete.
        """
        while True:
            message = await self._receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if body:
                    yield body
                if not message.get("more_body", False):
                    return
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect


class HotRouteApp:
    """Sends ``method path`` to ``handler`` directly and every other request to ``fallback``."""

    def __init__(self, fallback: ASGIApp, method: str, path: str, handler: HotHandler) -> None:
        """Route one exact method and path around ``fallback``."""
        self.fallback = fallback
        self.method = method
        self.path = path
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if (
            scope["type"] == "http"
            and scope["path"] == self.path
            and scope["method"] == self.method
            and not scope.get("root_path")
        ):
            response = await self.handler(HotRequest(scope, receive))
            await response(scope, receive, send)
            return
        await self.fallback(scope, receive, send)


class CompactJSONResponse(JSONResponse):
    """``JSONResponse``, rendered by orjson when it is installed.

    For the values a completion holds (strings, integers within 64 bits, booleans, null,
    lists, objects) orjson's output is byte for byte ``JSONResponse``'s (compact separators,
    UTF-8, the same escapes). Anything orjson refuses (larger integers) goes to the stdlib
    renderer, which then decides, exactly as before.
    """

    def render(self, content: Any) -> bytes:
        """The JSON bytes of ``content``."""
        if orjson is not None:
            try:
                return orjson.dumps(content)
            except TypeError:
                pass
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")
