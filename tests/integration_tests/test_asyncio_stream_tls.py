"""The asyncio network backend over TCP and TLS on loopback, through httpx as ChatFlexAI uses it.

Every scenario runs on both HTTP/1.1 connections a pool may open: this package's (httptools,
``_transport/_http11``) and httpcore's own (h11, what a pool uses without httptools).

A small asyncio HTTP/1.1 server (plain or TLS with a trustme CA) answers each request with its
body reversed and counts connections, so the tests see what crossed the wire: keep-alive reuse,
certificate checks, handshake and connect failures, large bodies both ways, and a server that
closes an idle keep-alive connection.
"""

from __future__ import annotations

import asyncio
import gc
import random
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
import uvloop

from langchain_flexai._transport import _http11
from langchain_flexai._transport._asyncio_stream import AsyncioStream, on_asyncio_streams
from langchain_flexai._transport._http11 import with_fast_http11
from langchain_flexai._transport._pools import sdk_httpx
from langchain_flexai.testing import FlexAIEmulator
from tests.integration_tests._fds import SLACK, open_fds, settled_fds


@dataclass
class _Server:
    port: int
    connections: int = 0
    bodies: list[bytes] = field(default_factory=list)
    idle_close: float | None = None  # seconds after an answer to close the connection


async def _handle(
    info: _Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    info.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            body = await reader.readexactly(length)
            info.bodies.append(body)
            answer = body[::-1]
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(answer) + answer)
            await writer.drain()
            if info.idle_close is not None:
                await asyncio.sleep(info.idle_close)
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def _serve(context: ssl.SSLContext | None = None) -> AsyncIterator[_Server]:
    info = _Server(port=0)
    server = await asyncio.start_server(
        lambda r, w: _handle(info, r, w), "127.0.0.1", 0, ssl=context
    )
    info.port = server.sockets[0].getsockname()[1]
    try:
        yield info
    finally:
        server.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(autouse=True, params=["llhttp", "h11"])
def http11(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which HTTP/1.1 connection the pools built in this test open."""
    if request.param == "h11":
        monkeypatch.setattr(_http11, "AVAILABLE", False)
    return str(request.param)


def _client(verify: ssl.SSLContext | bool = True, timeout: float = 5) -> sdk_httpx.AsyncClient:
    # Composed as the model's per-loop pools are (`_pools._httpcore_pool`), with a test CA.
    transport = with_fast_http11(on_asyncio_streams(sdk_httpx.AsyncHTTPTransport(verify=verify)))
    return sdk_httpx.AsyncClient(transport=transport, timeout=timeout)


def _sync_posts(port: int, texts: list[str], verify: ssl.SSLContext | bool) -> list[str]:
    # Composed as the model's shared sync client is (`_pools._build_sync`), with a test CA.
    transport = with_fast_http11(sdk_httpx.HTTPTransport(verify=verify))
    with sdk_httpx.Client(transport=transport, timeout=5) as client:
        return [client.post(f"https://localhost:{port}/", content=text).text for text in texts]


async def test_https_requests_reuse_one_verified_connection(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async with _serve(server_context) as server, _client(client_context) as client:
        for text in ("first", "second", "third"):
            response = await client.post(f"https://localhost:{server.port}/", content=text)
            assert response.text == text[::-1]
            stream = response.extensions["network_stream"]
            assert isinstance(stream, AsyncioStream)
            assert stream.get_extra_info("ssl_object").version() in {"TLSv1.2", "TLSv1.3"}
    assert server.connections == 1


async def test_sync_https_requests_reuse_one_verified_connection(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async with _serve(server_context) as server:
        texts = ["first", "second", "third"]
        answers = await asyncio.to_thread(_sync_posts, server.port, texts, client_context)
    assert answers == [text[::-1] for text in texts]
    assert server.connections == 1


async def test_a_sync_request_to_an_untrusted_certificate_is_refused(
    server_context: ssl.SSLContext,
) -> None:
    async with _serve(server_context) as server:
        with pytest.raises(sdk_httpx.ConnectError, match="certificate verify failed"):
            await asyncio.to_thread(_sync_posts, server.port, ["x"], True)
    assert server.bodies == []


async def test_large_bodies_cross_tls_both_ways_intact(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    body = random.Random(3).randbytes(6 * 1024 * 1024)
    async with _serve(server_context) as server, _client(client_context) as client:
        response = await client.post(f"https://localhost:{server.port}/", content=body)
    assert server.bodies == [body]
    assert response.content == body[::-1]


async def test_a_certificate_for_another_name_is_refused(
    server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    async with _serve(server_context) as server, _client(client_context) as client:
        with pytest.raises(sdk_httpx.ConnectError, match="certificate verify failed"):
            await client.post(f"https://127.0.0.1:{server.port}/", content="x")
    assert server.bodies == []


async def test_an_untrusted_certificate_is_refused(server_context: ssl.SSLContext) -> None:
    async with _serve(server_context) as server, _client(True) as client:
        with pytest.raises(sdk_httpx.ConnectError, match="certificate verify failed"):
            await client.post(f"https://localhost:{server.port}/", content="x")
    assert server.bodies == []


async def test_a_server_that_never_shakes_hands_is_a_connect_timeout(
    client_context: ssl.SSLContext,
) -> None:
    # Plain TCP: the server waits for a request that never comes.
    async with _serve() as server, _client(client_context, timeout=0.3) as client:
        with pytest.raises(sdk_httpx.ConnectTimeout, match=r"no TLS handshake within 0\.3 s"):
            await client.post(f"https://localhost:{server.port}/", content="x")


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        async with _client() as client:
            with pytest.raises(sdk_httpx.ConnectError, match=r"\[Errno 111\] Connection refused"):
                await client.post(f"http://127.0.0.1:{port}/", content="x")


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async with _serve() as server, _client() as client:
        server.idle_close = 0.05
        first = await client.post(f"http://127.0.0.1:{server.port}/", content="one")
        await asyncio.sleep(0.3)  # the server has closed the keep-alive connection
        second = await client.post(f"http://127.0.0.1:{server.port}/", content="two")
    assert (first.text, second.text) == ("eno", "owt")
    assert server.connections == 2
    assert server.bodies == [b"one", b"two"]


@pytest.mark.parametrize(
    "scenario",
    [
        test_https_requests_reuse_one_verified_connection,
        test_a_certificate_for_another_name_is_refused,
        test_large_bodies_cross_tls_both_ways_intact,
    ],
)
def test_the_tls_scenarios_on_uvloop(
    scenario: Callable[[ssl.SSLContext, ssl.SSLContext], Awaitable[None]],
    server_context: ssl.SSLContext,
    client_context: ssl.SSLContext,
) -> None:
    """uvloop's transports and ``start_tls`` serve the same streams (no happy-eyeballs there)."""
    uvloop.run(scenario(server_context, client_context))


@pytest.mark.parametrize(
    "scenario",
    [
        test_a_refused_connection_is_a_connect_error,
        test_an_idle_connection_the_server_closed_is_not_reused,
    ],
)
def test_the_tcp_scenarios_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    uvloop.run(scenario())


def test_a_chat_model_answers_the_same_on_uvloop_and_asyncio() -> None:
    with FlexAIEmulator() as emulator:
        model = emulator.chat_model(max_retries=0)
        on_uvloop = uvloop.run(model.ainvoke("Name a colour.", seed=3, temperature=0))
        on_asyncio = asyncio.run(model.ainvoke("Name a colour.", seed=3, temperature=0))
        first, second = emulator.requests[-2:]
        assert first.path == second.path == "/v1/chat/completions"
        assert first.body == second.body
    assert on_uvloop.content == on_asyncio.content
    assert on_uvloop.content


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_uvloop_runs_close_their_connections() -> None:
    """Each uvloop run's pool closes with its loop, as an asyncio run's does."""
    with FlexAIEmulator() as emulator:
        model = emulator.chat_model(max_retries=0)

        async def five() -> None:
            await asyncio.gather(*(model.ainvoke(f"hello {i}") for i in range(5)))

        uvloop.run(five())
        gc.collect()
        baseline = open_fds()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(10):
                uvloop.run(five())
            gc.collect()
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
        # A pool left open would keep its five client sockets per run: 50 more descriptors.
        assert settled_fds(baseline) <= baseline + SLACK
        assert len(emulator.requests) == 55
