"""HTTP/1.1 connections on httptools: the bytes sent, responses read as h11 reads them, reuse.

No sockets: the wire tests feed bytes to the parser, and the pool tests give httpcore's pools
(through httpx's transports) a scripted network backend that records every byte written.
h11, httpcore's own parser, is the reference for what a response means and what a request
head looks like.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_flexai._transport import _http11
from langchain_flexai._transport._asyncio_stream import sdk_httpcore
from langchain_flexai._transport._http11 import with_fast_http11
from langchain_flexai._transport._http11_wire import MAX_HEAD_BYTES, ResponseReader, request_head
from langchain_flexai._transport._pools import sdk_httpx

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_names = st.text(_TOKEN_CHARS, min_size=1, max_size=12).filter(
    lambda n: n.lower() not in ("content-length", "transfer-encoding", "connection", "host")
)
_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).flatmap(
    lambda v: st.sampled_from([v, v[:1] + " \t " + v[1:] if len(v) > 1 else v])
)
_headers = st.lists(st.tuples(_names, _values), max_size=6)


# -- the wire ------------------------------------------------------------------------------


def _serialize(
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
    framing: str,
    chunks: list[int],
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}".encode()]
    lines += [f"{name}: {value}".encode() for name, value in headers]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}".encode())
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        payload, rest = b"", body
        for size in [*chunks, len(body)]:
            piece, rest = rest[:size], rest[size:]
            if piece:
                payload += b"%x\r\n%b\r\n" % (len(piece), piece)
        payload += b"0\r\n\r\n"
    else:  # delimited by the end of the connection
        lines.append(b"Connection: close")
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


def _ours(pieces: list[bytes], until_close: bool) -> tuple[Any, ...]:
    reader = ResponseReader()
    reader.begin(b"POST")
    body = b""
    for piece in pieces:
        reader.feed(piece)
        body += reader.take_body()
    if until_close:
        reader.feed(b"")
    assert reader.complete
    return reader.status, reader.reason, reader.headers, body + reader.take_body()


def _h11(pieces: list[bytes], until_close: bool) -> tuple[Any, ...]:
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("Host", "x")]))
    connection.send(h11.EndOfMessage())
    events: list[Any] = []
    for piece in [*pieces, b""] if until_close else pieces:
        connection.receive_data(piece)
        while (event := connection.next_event()) not in (h11.NEED_DATA, h11.PAUSED):
            events.append(event)
            if isinstance(event, h11.EndOfMessage):
                break
    head = next(e for e in events if isinstance(e, h11.Response))
    body = b"".join(bytes(e.data) for e in events if isinstance(e, h11.Data))
    assert isinstance(events[-1], h11.EndOfMessage)
    return head.status_code, head.reason, head.headers.raw_items(), body


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([200, 201, 400, 401, 404, 429, 500, 503]),
    reason=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ abc", min_size=1, max_size=16)
    .map(str.strip)
    .filter(bool),
    headers=_headers,
    body=st.binary(max_size=3000),
    framing=st.sampled_from(["length", "chunked", "close"]),
    chunks=st.lists(st.integers(1, 900), max_size=5),
    cuts=st.lists(st.integers(0, 10_000), max_size=8),
)
def test_responses_read_as_h11_reads_them(
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    body: bytes,
    framing: str,
    chunks: list[int],
    cuts: list[int],
) -> None:
    data = _serialize(status, reason, headers, body, framing, chunks)
    pieces = _split(data, cuts)
    ours = _ours(pieces, until_close=framing == "close")
    assert ours == _h11(pieces, until_close=framing == "close")
    assert ours[3] == body


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"POST", b"DELETE"]),
    path=st.text("abcxyz019/-._~%=&?", max_size=30),
    headers=_headers,
)
def test_request_heads_are_the_bytes_h11_writes(
    method: bytes, path: str, headers: list[tuple[str, str]]
) -> None:
    raw = [(b"Host", b"api.test"), *((n.encode(), v.encode()) for n, v in headers)]
    request = sdk_httpcore.Request(method, "http://api.test/" + path.lstrip("/?"), headers=raw)
    connection = h11.Connection(h11.CLIENT)
    expected = connection.send(h11.Request(method=method, target=request.url.target, headers=raw))
    head = request_head(request)
    assert (head.wire, head.length, head.close) == (expected, None, False)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([(b"X-Key", b"sk-secret\r\nX-Injected: 1")], "illegal value for header 'X-Key'"),
        ([(b"X-Key", b"sk-secret\n")], "illegal value for header 'X-Key'"),
        ([(b"X-Key", b"sk-\x00secret")], "illegal value for header 'X-Key'"),
        ([(b"X-Key", b" sk-secret")], "illegal value for header 'X-Key'"),
        ([(b"X Key", b"v")], "illegal header name b'X Key'"),
        ([(b"X:Key", b"v")], "illegal header name b'X:Key'"),
        ([(b"Content-Length", b"12a")], "illegal Content-Length"),
        ([(b"Content-Length", b"3"), (b"Content-Length", b"4")], "conflicting Content-Length"),
    ],
)
def test_illegal_request_heads_are_refused_without_repeating_the_value(
    headers: list[tuple[bytes, bytes]], message: str
) -> None:
    request = sdk_httpcore.Request(b"POST", "http://api.test/v1", headers=headers)
    with pytest.raises(sdk_httpcore.LocalProtocolError, match=message) as caught:
        request_head(request)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("pieces", "message"),
    [
        ([b"HTTX/1.1 200 OK\r\n\r\n"], "malformed HTTP response"),
        ([b"HTTP/1.1 2000 OK\r\n\r\n"], "malformed HTTP response"),
        ([b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"], "malformed HTTP response"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "malformed HTTP"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"], "malformed"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b""], "received 3 bytes"),
        (
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", b""],
            "without sending complete message body",
        ),
        ([b"HTTP/1.1 200 OK\r\nContent-"], None),
        ([b""], "Server disconnected without sending a response."),
        (
            [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n"],
            "switched protocols",
        ),
    ],
)
def test_malformed_responses_raise_httpcores_protocol_error(
    pieces: list[bytes], message: str | None
) -> None:
    reader = ResponseReader()
    reader.begin(b"POST")
    if message is None:  # incomplete, then the connection ends
        pieces, message = [*pieces, b""], "Server disconnected without sending a response."
    with pytest.raises(sdk_httpcore.RemoteProtocolError, match=message):
        _feed_all(reader, pieces)


def _feed_all(reader: ResponseReader, pieces: Iterable[bytes]) -> None:
    for piece in pieces:
        reader.feed(piece)


def test_an_endless_response_head_is_refused_after_the_cap() -> None:
    reader = ResponseReader()
    reader.begin(b"GET")
    reader.feed(b"HTTP/1.1 200 OK\r\n")
    fed: list[bytes] = []

    def endless() -> Iterator[bytes]:
        while True:
            fed.append(b"X-Filler: " + b"a" * 8000 + b"\r\n")
            yield fed[-1]

    with pytest.raises(sdk_httpcore.RemoteProtocolError, match="larger than 100 KiB"):
        _feed_all(reader, endless())
    assert MAX_HEAD_BYTES < 17 + 8012 * len(fed) <= MAX_HEAD_BYTES + 8012


def test_interim_responses_are_skipped_and_head_responses_end_at_their_head() -> None:
    reader = ResponseReader()
    reader.begin(b"POST")
    reader.feed(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nA: b\r\n\r\nok"
    )
    assert (reader.status, reader.headers, reader.take_body(), reader.complete) == (
        200,
        [(b"Content-Length", b"2"), (b"A", b"b")],
        b"ok",
        True,
    )
    assert reader.reusable
    reader.begin(b"HEAD")
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
    assert (reader.complete, reader.take_body(), reader.reusable) == (True, b"", False)


def test_a_second_response_to_one_request_makes_the_connection_unusable() -> None:
    reader = ResponseReader()
    reader.begin(b"GET")
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert reader.complete
    assert not reader.reusable


# -- connections in httpcore's pools -----------------------------------------------------------


class _Stream:
    """One scripted connection: what the server sends, and every byte the client wrote."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = list(replies)
        self.written = bytearray()
        self.writes = 0
        self.closed = False

    def _read(self) -> bytes:
        if self.closed:
            raise sdk_httpcore.ReadError("closed")
        return self.replies.pop(0) if self.replies else b""

    def get_extra_info(self, info: str) -> Any:
        return False if info == "is_readable" else None


class _AsyncStream(_Stream, sdk_httpcore.AsyncNetworkStream):
    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._read()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer

    async def aclose(self) -> None:
        self.closed = True


class _SyncStream(_Stream, sdk_httpcore.NetworkStream):
    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._read()

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer
        self.writes += 1

    def close(self) -> None:
        self.closed = True


class _Backend:
    def __init__(self, kind: type[_Stream], *connections: list[bytes]) -> None:
        self.kind = kind
        self.scripts = list(connections)
        self.opened: list[_Stream] = []

    def _open(self) -> _Stream:
        stream = self.kind(self.scripts.pop(0))
        self.opened.append(stream)
        return stream


class _AsyncBackend(_Backend, sdk_httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        return self._open()


class _SyncBackend(_Backend, sdk_httpcore.NetworkBackend):
    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        return self._open()


_OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


def _async_transport(backend: _AsyncBackend) -> Any:
    transport = with_fast_http11(sdk_httpx.AsyncHTTPTransport())
    transport._pool._network_backend = backend
    return transport


def _sync_transport(backend: _SyncBackend) -> Any:
    transport = with_fast_http11(sdk_httpx.HTTPTransport())
    transport._pool._network_backend = backend
    return transport


async def test_async_requests_reuse_one_connection_and_send_exactly_their_bytes() -> None:
    backend = _AsyncBackend(_AsyncStream, [_OK, _OK])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        first = await client.post("http://api.test/v1/chat", content=b'{"a":1}')
        second = await client.post("http://api.test/v1/chat", content=b'{"b":22}')
    assert [first.json(), second.json()] == [{"ok": True}, {"ok": True}]
    assert first.http_version == "HTTP/1.1"
    assert first.headers["content-type"] == "application/json"
    assert len(backend.opened) == 1
    written = bytes(backend.opened[0].written)
    assert written.count(b"POST /v1/chat HTTP/1.1\r\nHost: api.test\r\n") == 2
    assert written.endswith(b'Content-Length: 8\r\n\r\n{"b":22}')
    assert b'Content-Length: 7\r\n\r\n{"a":1}POST' in written


async def test_a_streamed_request_body_goes_out_chunked() -> None:
    backend = _AsyncBackend(_AsyncStream, [_OK])

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"abc", b"", b"0123456789abcdef!"):
            yield part

    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        response = await client.post("http://api.test/up", content=parts())
    assert response.status_code == 200
    assert bytes(backend.opened[0].written).endswith(
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n11\r\n0123456789abcdef!\r\n0\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("reply", "reused"),
    [
        (_OK, True),
        (_OK.replace(b"Content-Type", b"Connection: close\r\nContent-Type"), False),
        (_OK.replace(b"HTTP/1.1", b"HTTP/1.0"), False),
        (_OK + b"HTTP/1.1 200 OK\r\n", False),  # a second answer to one request
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", False),
    ],
)
async def test_a_connection_is_reused_only_after_a_clean_kept_alive_response(
    reply: bytes, reused: bool
) -> None:
    # A reused connection answers the second request from its own script.
    first = [reply, _OK] if reused or b"until the end" not in reply else [reply]
    backend = _AsyncBackend(_AsyncStream, first, [_OK])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        await client.get("http://api.test/a")
        await client.get("http://api.test/b")
        assert backend.opened[0].closed is not reused  # before the client closes its pool
    assert len(backend.opened) == (1 if reused else 2)


async def test_a_response_closed_before_its_end_closes_its_connection() -> None:
    long_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    backend = _AsyncBackend(_AsyncStream, [long_reply, b"01234"], [_OK])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        async with client.stream("GET", "http://api.test/a") as response:
            assert response.status_code == 200
        assert (await client.get("http://api.test/b")).json() == {"ok": True}
    assert [s.closed for s in backend.opened] == [True, True]


async def test_a_cut_response_is_httpxs_remote_protocol_error() -> None:
    backend = _AsyncBackend(_AsyncStream, [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        with pytest.raises(sdk_httpx.RemoteProtocolError, match="received 3 bytes"):
            await client.get("http://api.test/a")
    assert backend.opened[0].closed


async def test_an_illegal_header_opens_no_connection() -> None:
    backend = _AsyncBackend(_AsyncStream, [_OK])
    transport = _async_transport(backend)
    async with sdk_httpx.AsyncClient(transport=transport) as client:
        request = client.build_request("GET", "http://api.test/a")
        request.headers["X-Key"] = "sk-secret"
        request.headers._list[-1] = (b"X-Key", b"x-key", b"sk-secret\r\nEvil: 1")
        with pytest.raises(sdk_httpx.LocalProtocolError) as caught:
            await client.send(request)
        assert transport._pool.connections == []  # none left taken
    assert "secret" not in str(caught.value)
    assert backend.opened == []


async def test_a_cancelled_request_closes_its_connection() -> None:
    class _Slow(_AsyncStream):
        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            await asyncio.sleep(10)
            return b""

    backend = _AsyncBackend(_Slow, [])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        task = asyncio.ensure_future(client.get("http://api.test/a"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert backend.opened[0].closed


def test_sync_requests_reuse_one_connection_and_read_chunked_bodies() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
    backend = _SyncBackend(_SyncStream, [chunked, _OK])
    with sdk_httpx.Client(transport=_sync_transport(backend)) as client:
        first = client.post("http://api.test/v1", content=b"x")
        second = client.get("http://api.test/v2")
    assert (first.content, second.json()) == (b"abc", {"ok": True})
    assert len(backend.opened) == 1
    written = bytes(backend.opened[0].written)
    assert written.startswith(b"POST /v1 HTTP/1.1\r\nHost: api.test\r\n")
    assert b"Content-Length: 1\r\n\r\nxGET /v2 HTTP/1.1\r\n" in written


def test_sync_streamed_response_closed_early_closes_its_connection() -> None:
    backend = _SyncBackend(
        _SyncStream, [b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", b"abc"], [_OK]
    )
    with sdk_httpx.Client(transport=_sync_transport(backend)) as client:
        with client.stream("GET", "http://api.test/a") as response:
            assert next(response.iter_raw()) == b"abc"
        assert client.get("http://api.test/b").status_code == 200
    assert [s.closed for s in backend.opened] == [True, True]


def test_pools_of_other_kinds_and_missing_httptools_keep_httpcores_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxied = with_fast_http11(sdk_httpx.HTTPTransport(proxy="http://proxy.test:3128"))
    assert type(proxied._pool) is not _http11._SyncPool
    plain = with_fast_http11(sdk_httpx.HTTPTransport())
    assert type(plain._pool) is _http11._SyncPool
    monkeypatch.setattr(_http11, "AVAILABLE", False)
    assert type(with_fast_http11(sdk_httpx.HTTPTransport())._pool) is sdk_httpcore.ConnectionPool


def test_the_models_pools_open_these_connections() -> None:
    from langchain_flexai._transport._pools import _httpcore_pool, shared_sync_client  # noqa: PLC0415

    assert type(_httpcore_pool(())._pool) is _http11._AsyncPool
    client = shared_sync_client("http://api.test/v1", 5.0)
    assert type(client._transport._pool) is _http11._SyncPool


def test_without_httptools_the_pools_keep_httpcores_connections() -> None:
    code = (
        "import sys; sys.modules['httptools'] = None\n"
        "from langchain_flexai._transport import _http11, _pools\n"
        "print(_http11.AVAILABLE, type(_pools._httpcore_pool(())._pool).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["False", "AsyncConnectionPool"]


def test_a_small_sync_request_leaves_in_one_write_and_a_large_body_is_not_joined() -> None:
    large = b"x" * 200_000
    backend = _SyncBackend(_SyncStream, [_OK, _OK])
    with sdk_httpx.Client(transport=_sync_transport(backend)) as client:
        client.post("http://api.test/v1", content=b'{"small":1}')
        stream = backend.opened[0]
        assert stream.writes == 1
        client.post("http://api.test/v1", content=large)
    assert stream.writes == 3  # the second request's head, then its body as it is
    assert bytes(stream.written).endswith(b"Content-Length: 200000\r\n\r\n" + large)


async def test_a_request_that_asks_to_close_does_not_reuse_its_connection() -> None:
    backend = _AsyncBackend(_AsyncStream, [_OK, _OK], [_OK])
    async with sdk_httpx.AsyncClient(transport=_async_transport(backend)) as client:
        await client.get("http://api.test/a", headers={"Connection": "close"})
        assert backend.opened[0].closed
        await client.get("http://api.test/b")
    assert len(backend.opened) == 2


def test_chunked_trailers_are_not_taken_for_headers() -> None:
    reader = ResponseReader()
    reader.begin(b"GET")
    reader.feed(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Checksum: 1\r\n\r\n"
    )
    assert (reader.headers, reader.take_body(), reader.complete, reader.reusable) == (
        [(b"Transfer-Encoding", b"chunked")],
        b"ok",
        True,
        True,
    )


async def test_an_illegal_header_on_a_kept_connection_closes_it_instead_of_keeping_it_taken() -> (
    None
):
    backend = _AsyncBackend(_AsyncStream, [_OK, _OK])
    transport = _async_transport(backend)
    async with sdk_httpx.AsyncClient(transport=transport) as client:
        await client.get("http://api.test/a")  # the connection is now idle in the pool
        request = client.build_request("GET", "http://api.test/b", headers={"X-Key": "v"})
        request.headers._list[-1] = (b"X-Key", b"x-key", b"v\r\nEvil: 1")
        with pytest.raises(sdk_httpx.LocalProtocolError):
            await client.send(request)
        assert backend.opened[0].closed
        assert transport._pool.connections == []  # not left ACTIVE, holding its socket
