"""ChatFlexAI's async requests on the opt-in aiohttp pool, against the emulator over loopback.

The event-loop and error tests (test_event_loops.py, test_transport_errors.py) run over both
pools; here is what only the aiohttp pool has to prove: the keepalive socket options reach its
sockets, a stream arrives chunk by chunk with the same text as over httpx, and a describe run
gives the same records.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from PIL import Image

from langchain_flexai import ImageDescriber, prepare_image
from langchain_flexai.testing import FlexAIEmulator

_OPTIONS = (
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 37),
    (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 7),
)


@pytest.fixture
def aiohttp_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "aiohttp")


def _live_sockets(model: object) -> list[socket.socket]:
    """The sockets held by the running loop's aiohttp pool (idle ones, after a request)."""
    transport = model.root_async_client._client._transport  # type: ignore[attr-defined]
    entry = transport._pools[asyncio.get_running_loop()]
    connector = entry.pool._session.connector
    held = [protocol for kept in connector._conns.values() for protocol, _ in kept]
    return [protocol.transport.get_extra_info("socket") for protocol in held]


@pytest.mark.usefixtures("aiohttp_on")
def test_socket_options_reach_the_aiohttp_sockets(flexai_emulator: FlexAIEmulator) -> None:
    model = flexai_emulator.chat_model(http_socket_options=_OPTIONS)

    async def go() -> list[tuple[int, int, int]]:
        await asyncio.gather(*(model.ainvoke(f"hi {i}") for i in range(3)))
        sockets = _live_sockets(model)
        assert sockets  # kept alive in the pool
        return [
            (
                s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            )
            for s in sockets
        ]

    assert set(asyncio.run(go())) == {(1, 37, 7)}


def test_a_stream_is_the_same_over_both_pools(
    flexai_emulator: FlexAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def stream(transport: str) -> list[str]:
        monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", transport)
        model = flexai_emulator.chat_model()
        return [chunk.text async for chunk in model.astream("Describe this, at length.")]

    over_httpx = asyncio.run(stream("httpx"))
    over_aiohttp = asyncio.run(stream("aiohttp"))
    assert len(over_aiohttp) > 2  # chunk by chunk, not one body at the end
    assert over_aiohttp == over_httpx


def test_a_describe_run_is_the_same_over_both_pools(
    flexai_emulator: FlexAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = [
        prepare_image(Image.new("RGB", (32 + i, 24), (40 * i % 256, 90, 200))) for i in range(12)
    ]

    async def run(transport: str) -> list[str]:
        monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", transport)
        describer = ImageDescriber(flexai_emulator.chat_model(), "Describe.", max_concurrency=4)
        records = [record async for record in describer.adescribe(images)]
        assert describer.report.failed == 0
        assert all(record.description for record in records)
        return sorted(str(record.description) for record in records)

    assert asyncio.run(run("aiohttp")) == asyncio.run(run("httpx"))
    assert len(flexai_emulator.requests) == 24
