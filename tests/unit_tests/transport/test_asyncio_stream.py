"""httpcore streams on asyncio's transports: reads, writes, the idle check, errors, flow control.

Over Unix sockets (the unit suite allows no TCP) with a small asyncio server per test; TCP, TLS
and the pool's behaviour are in tests/integration_tests/test_asyncio_stream_tls.py and the
emulator tests, which all run on this backend.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from langchain_flexai._transport import _asyncio_stream
from langchain_flexai._transport._asyncio_stream import (
    AsyncioBackend,
    AsyncioStream,
    on_asyncio_streams,
    sdk_httpcore,
)
from langchain_flexai._transport._pools import _httpcore_pool, sdk_httpx

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _server(tmp_path: Path, handler: Handler) -> AsyncIterator[str]:
    path = str(tmp_path / "s.sock")
    server = await asyncio.start_unix_server(handler, path)
    try:
        yield path
    finally:
        server.close()
        await server.wait_closed()


async def _connect(path: str) -> AsyncioStream:
    stream = await AsyncioBackend().connect_unix_socket(path, timeout=5)
    assert isinstance(stream, AsyncioStream)
    return stream


async def _read_all(stream: AsyncioStream, max_bytes: int = 65536) -> bytes:
    received = bytearray()
    while chunk := await stream.read(max_bytes, timeout=5):
        received += chunk
    return bytes(received)


async def test_bytes_written_arrive_and_bytes_sent_are_read(tmp_path: Path) -> None:
    rng = random.Random(7)
    payload = rng.randbytes(300_000)  # larger than the high-water mark and the join limit

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readexactly(len(payload) + 5)
        writer.write(data[::-1])
        await writer.drain()
        writer.close()

    async with _server(tmp_path, echo) as path:
        stream = await _connect(path)
        await stream.write(b"head:", timeout=5)
        await stream.write(payload, timeout=5)
        assert await _read_all(stream, max_bytes=rng.randint(1, 9000)) == (b"head:" + payload)[::-1]
        await stream.aclose()


async def test_small_writes_leave_in_one_call_when_the_response_is_read() -> None:
    transport = _FakeTransport()
    stream = AsyncioStream(transport, _asyncio_stream._Protocol())  # type: ignore[arg-type]
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b'{"a": 1}')
    assert transport.written == []  # queued until a read or a large write
    stream._protocol.data_received(b"HTTP/1.1 200 OK\r\n")
    assert await stream.read(100) == b"HTTP/1.1 200 OK\r\n"
    assert transport.written == [b'POST / HTTP/1.1\r\n\r\n{"a": 1}']


async def test_small_writes_leave_when_the_task_yields() -> None:
    """A body produced slowly (an async iterator that awaits) is not held back for the read."""
    transport = _FakeTransport()
    stream = AsyncioStream(transport, _asyncio_stream._Protocol())  # type: ignore[arg-type]
    await stream.write(b"headers")
    await stream.write(b"chunk 1")
    await asyncio.sleep(0)  # the producer of the next chunk waits on something
    assert transport.written == [b"headerschunk 1"]
    await stream.write(b"chunk 2")
    await asyncio.sleep(0)
    assert transport.written == [b"headerschunk 1", b"chunk 2"]


async def test_a_read_and_a_write_may_wait_at_once() -> None:
    transport = _FakeTransport()
    protocol = _asyncio_stream._Protocol()
    stream = AsyncioStream(transport, protocol)  # type: ignore[arg-type]
    protocol.pause_writing()  # the kernel's buffers are full
    reading = asyncio.ensure_future(stream.read(100, timeout=5))
    writing = asyncio.ensure_future(stream.write(b"w" * _asyncio_stream._COALESCE_BELOW, timeout=5))
    await asyncio.sleep(0.01)
    assert not reading.done()
    assert not writing.done()
    protocol.resume_writing()
    await asyncio.wait_for(writing, 2)
    protocol.data_received(b"answer")
    assert await asyncio.wait_for(reading, 2) == b"answer"


async def test_a_large_body_is_sent_at_once_and_never_joined() -> None:
    transport = _FakeTransport()
    stream = AsyncioStream(transport, _asyncio_stream._Protocol())  # type: ignore[arg-type]
    body = b"x" * (_asyncio_stream._COALESCE_BELOW + 1)
    await stream.write(b"headers")
    await stream.write(body)
    assert transport.written == [b"headers", body]
    assert transport.written[1] is body  # the same object: no copy of the body


async def test_eof_reads_empty_and_a_reset_is_a_read_error() -> None:
    protocol = _asyncio_stream._Protocol()
    stream = AsyncioStream(_FakeTransport(), protocol)  # type: ignore[arg-type]
    protocol.data_received(b"last")
    protocol.eof_received()
    assert await stream.read(10) == b"last"
    assert await stream.read(10) == b""

    protocol = _asyncio_stream._Protocol()
    stream = AsyncioStream(_FakeTransport(), protocol)  # type: ignore[arg-type]
    protocol.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
    with pytest.raises(sdk_httpcore.ReadError, match="Connection reset by peer"):
        await stream.read(10)


async def test_a_read_that_waits_too_long_is_a_read_timeout(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.close()

    async with _server(tmp_path, silent) as path:
        stream = await _connect(path)
        with pytest.raises(sdk_httpcore.ReadTimeout, match=r"no bytes received within 0\.05 s"):
            await stream.read(10, timeout=0.05)
        await stream.aclose()


async def test_writing_to_a_closed_connection_is_a_write_error(tmp_path: Path) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with _server(tmp_path, hang_up) as path:
        stream = await _connect(path)
        assert await stream.read(10, timeout=5) == b""
        with pytest.raises(sdk_httpcore.WriteError):
            await stream.write(b"too late")


async def test_a_write_the_peer_does_not_drain_is_a_write_timeout(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def never_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    async with _server(tmp_path, never_reads) as path:
        stream = await _connect(path)
        block = b"y" * (1 << 20)
        with pytest.raises(sdk_httpcore.WriteTimeout, match=r"no bytes within 0\.1 s"):  # noqa: PT012
            for _ in range(2000):  # fills the socket buffers, then the transport's
                await stream.write(block, timeout=0.1)
        release.set()
        await stream.aclose()


async def test_the_idle_check_sees_data_and_hang_ups(tmp_path: Path) -> None:
    said = asyncio.Event()
    hang_up = asyncio.Event()

    async def talker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await said.wait()
        writer.write(b"unexpected")
        await writer.drain()
        await hang_up.wait()
        writer.close()

    async with _server(tmp_path, talker) as path:
        quiet = await _connect(path)
        assert quiet.get_extra_info("is_readable") is False
        said.set()
        for _ in range(200):
            if quiet.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert quiet.get_extra_info("is_readable") is True
        assert await quiet.read(100, timeout=5) == b"unexpected"
        hang_up.set()
        assert await quiet.read(100, timeout=5) == b""
        assert quiet.get_extra_info("is_readable") is True
        await quiet.aclose()
        assert quiet.get_extra_info("is_readable") is True


async def test_reading_pauses_while_a_slow_reader_has_much_unread(tmp_path: Path) -> None:
    size = 4 * 1024 * 1024

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"z" * size)
        await writer.drain()
        writer.close()

    async with _server(tmp_path, flood) as path:
        stream = await _connect(path)
        await asyncio.sleep(0.2)  # the server writes as fast as it can; we read nothing
        protocol = stream._protocol
        assert protocol.reading_paused
        # Paused at the mark: at most one more chunk of the socket's 256 KiB reads beyond it.
        assert protocol.buffered <= _asyncio_stream._HIGH_WATER + 256 * 1024
        received = await _read_all(stream)
        assert received == b"z" * size
        assert not protocol.reading_paused


async def test_connect_errors_are_httpcore_connect_errors(tmp_path: Path) -> None:
    with pytest.raises(sdk_httpcore.ConnectError, match="No such file"):
        await AsyncioBackend().connect_unix_socket(str(tmp_path / "absent.sock"), timeout=5)


async def test_httpx_requests_over_the_backend(tmp_path: Path) -> None:
    requests: list[bytes] = []

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:  # keep-alive: several requests on one connection
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(line for line in head.split(b"\r\n") if b"length" in line.lower()).split(b":")[
                    1
                ]
            )
            body = await reader.readexactly(length)
            requests.append(head + body)
            answer = body.upper()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
            await writer.drain()

    async with _server(tmp_path, http) as path:
        transport = on_asyncio_streams(sdk_httpx.AsyncHTTPTransport(uds=path))
        async with sdk_httpx.AsyncClient(transport=transport) as client:
            for text in ("one", "two", "three"):
                response = await client.post("http://test/echo", content=text.encode())
                assert response.status_code == 200
                assert response.text == text.upper()
    assert len(requests) == 3
    assert all(b"POST /echo HTTP/1.1" in request for request in requests)


def test_every_per_loop_httpcore_pool_uses_the_backend() -> None:
    pool = _httpcore_pool(())._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, AsyncioBackend)
    # A proxy's pool (httpx builds its own for proxy mounts) is left to httpx.
    proxied = on_asyncio_streams(sdk_httpx.AsyncHTTPTransport(proxy="http://proxy.test:3128"))
    assert not isinstance(proxied._pool._network_backend, AsyncioBackend)


class _FakeTransport:
    """Records writes; never pauses; enough of asyncio.Transport for one stream."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def abort(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass
