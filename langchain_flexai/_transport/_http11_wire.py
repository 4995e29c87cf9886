"""HTTP/1.1 on the wire, without I/O: a request's head checked and encoded, a response parsed.

httpcore speaks HTTP/1.1 through h11, a state machine written in Python: per request it builds
and validates event objects, normalises every header and re-scans the receive buffer: replacing
it took about a sixth of a small request's client instructions away (callgrind, sync and async;
docs/performance.md). Here the response is parsed by httptools (llhttp, the
parser of Node.js, which uvicorn uses too) and the request head is one ``join`` after the same
checks h11 makes on what it sends: a method and header names that are tokens, a target and
header values with no control characters. What h11 enforces on what it receives, llhttp
enforces too (status line, header syntax, chunked framing, Content-Length); the head is capped
at h11's size, which llhttp does not cap by itself.

Used by :mod:`._http11` for both its sync and its async connections. Knows HTTP/1.1 framing and
httpcore's request and error classes; knows nothing about sockets, pools or FlexAI.
"""

from __future__ import annotations

import re
from collections import deque
from http import HTTPStatus
from typing import Any, NamedTuple

import httptools

from langchain_flexai._transport._asyncio_stream import sdk_httpcore

__all__ = ["MAX_HEAD_BYTES", "BodyFramer", "RequestHead", "ResponseReader", "request_head"]

MAX_HEAD_BYTES = 100 * 1024
"""The largest response head accepted (httpcore's limit for h11's incomplete events)."""

_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# RFC 9110 field-value: visible bytes (and obs-text), inner spaces or tabs; as h11 checks it.
_FIELD_VALUE = re.compile(
    rb"(?:[\x21-\x7e\x80-\xff](?:[\x20\x09\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?"
)
_TARGET = re.compile(rb"[\x21-\x7e\x80-\xff]+")


class RequestHead(NamedTuple):
    """A request's head as sent, and what its headers declare about the body and connection."""

    wire: bytes
    length: int | None  # Content-Length; None for a chunked body or none
    chunked: bool  # Transfer-Encoding: chunked (and no Content-Length)
    close: bool  # Connection: close, so the connection is not reused after the response


def request_head(request: Any) -> RequestHead:
    """A request's head, checked and encoded in one pass over its headers.

    Raises:
        httpcore.LocalProtocolError: A method, target, header name or value that HTTP/1.1
            forbids (a CR or LF in a value would start another header or request). The value
            itself is not repeated: it may be a credential.
    """
    method = request.method
    target = request.url.target
    if not _TOKEN.fullmatch(method):
        raise sdk_httpcore.LocalProtocolError(f"illegal request method {method!r}")
    if not _TARGET.fullmatch(target):
        raise sdk_httpcore.LocalProtocolError(
            "illegal request target (whitespace or a control byte)"
        )
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    length: int | None = None
    chunked = close = False
    for name, value in request.headers:
        if not _TOKEN.fullmatch(name):
            raise sdk_httpcore.LocalProtocolError(f"illegal header name {name!r}")
        if not _FIELD_VALUE.fullmatch(value):
            raise sdk_httpcore.LocalProtocolError(
                f"illegal value for header {name.decode('ascii')!r} (a control byte, or "
                "whitespace at either end)"
            )
        lowered = name.lower()
        if lowered == b"content-length":
            length = _content_length(value, length)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif lowered == b"connection" and b"close" in value.lower():
            close = True
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return RequestHead(b"".join(parts), length, chunked and length is None, close)


def _content_length(value: bytes, before: int | None) -> int:
    if not value.isdigit():
        raise sdk_httpcore.LocalProtocolError("illegal Content-Length (not a number)")
    length = int(value)
    if before is not None and before != length:
        raise sdk_httpcore.LocalProtocolError("conflicting Content-Length headers")
    return length


class BodyFramer:
    """Frames a request body as its head declared it: exactly Content-Length bytes, or chunks."""

    def __init__(self, head: RequestHead) -> None:
        self._length = head.length
        self._chunked = head.chunked
        self._sent = 0

    def frame(self, chunk: bytes) -> bytes:
        """``chunk`` as it goes on the wire (h11's errors for a body longer than declared)."""
        if not chunk:
            return b""
        self._sent += len(chunk)
        if self._chunked:
            return b"%x\r\n%b\r\n" % (len(chunk), chunk)
        if self._length is None or self._sent > self._length:
            raise sdk_httpcore.LocalProtocolError("Too much data for declared Content-Length")
        return chunk

    def end(self) -> bytes:
        """What closes the body (the last chunk), after checking nothing declared is missing."""
        if self._chunked:
            return b"0\r\n\r\n"
        if self._length is not None and self._sent != self._length:
            raise sdk_httpcore.LocalProtocolError("Too little data for declared Content-Length")
        return b""


class ResponseReader:
    """One connection's responses, parsed as bytes arrive; ``begin`` before each request.

    llhttp parses responses back to back on one connection, so the parser lives as long as the
    connection. Bytes that start another response before a request was sent (a server that
    answers twice, or garbage) mark the connection as not reusable.
    """

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._body: deque[bytes] = deque()
        self.begin(b"GET")

    def begin(self, method: bytes, *, reuse: bool = True) -> None:
        """Expect the response to a ``method`` request (``reuse``: it did not ask to close)."""
        self._head_only = method == b"HEAD"
        self._switched = False
        self._head_bytes = 0
        self._interim = False
        self.status = 0
        self.version = b"1.1"
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.reusable = reuse
        self._until_close = False
        self._received = 0
        self._body.clear()

    # -- what llhttp calls -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self.reusable = False  # more than one response to one request

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # a chunked body's trailer fields are not the response's headers
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == HTTPStatus.SWITCHING_PROTOCOLS:
            self._switched = True
            return
        if status < HTTPStatus.OK:  # an interim response (100 Continue, 103 Early Hints)
            self._interim = True
            self.headers = []
            self.reason = b""
            return
        self.status = status
        self.version = self._parser.get_http_version().encode("ascii")
        self.head_done = True
        self.reusable = self.reusable and self._parser.should_keep_alive()
        framed = any(
            name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers
        )
        self._until_close = not framed and status not in (204, 304)
        if self._head_only:
            # llhttp would wait for the body a HEAD response describes but never sends: the
            # response ends here, and so does the connection (the parser expects that body).
            self.complete = True
            self.reusable = False

    def on_body(self, body: bytes) -> None:
        self._received += len(body)
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.complete and not self._head_only:
            self.reusable = False
        self.complete = True

    # -- what a connection calls -----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse received bytes; ``b""`` is the end of the stream.

        Raises:
            httpcore.RemoteProtocolError: A malformed or oversized response, a protocol switch,
                or a connection closed before the response ended.
        """
        if not data:
            self._end_of_stream()
            return
        if self.complete and self._head_only:
            self.reusable = False
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._switched = True
        except httptools.HttpParserError as error:
            msg = f"malformed HTTP response from the server: {error}"
            raise sdk_httpcore.RemoteProtocolError(msg) from error
        if self._switched:
            msg = "the server switched protocols (101), which this client does not support"
            raise sdk_httpcore.RemoteProtocolError(msg)
        if not self.head_done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                msg = f"the server's response head is larger than {MAX_HEAD_BYTES // 1024} KiB"
                raise sdk_httpcore.RemoteProtocolError(msg)

    def _end_of_stream(self) -> None:
        self.reusable = False
        if self.complete:
            return
        if not self.head_done:
            msg = "Server disconnected without sending a response."
            raise sdk_httpcore.RemoteProtocolError(msg)
        if self._until_close:  # a body delimited by the end of the connection (HTTP/1.0 style)
            self.complete = True
            return
        msg = (
            "peer closed connection without sending complete message body: "
            f"received {self._received} bytes"
        )
        raise sdk_httpcore.RemoteProtocolError(msg)

    def take_body(self) -> bytes:
        """The body bytes parsed so far and not yet taken (``b""`` when there are none)."""
        body = self._body
        if not body:
            return b""
        if len(body) == 1:
            return body.popleft()
        joined = b"".join(body)
        body.clear()
        return joined
