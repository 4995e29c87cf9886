"""One ChatFlexAI, many event loops: each `asyncio.run` (or async test) gets a working pool.

langchain-openai's shared async pool belongs to the first loop that used it, so a second
`asyncio.run` fails with "Event loop is closed"; ChatFlexAI's transport keeps a pool per loop,
and each pool closes with its loop (no sockets left open, no ResourceWarning). Every test runs
over both async pools: httpx's (the default) and aiohttp's (FLEXAI_ASYNC_TRANSPORT=aiohttp).
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from langchain_flexai.testing import FlexAIEmulator
from tests.integration_tests._fds import SLACK, open_fds, settled_fds


@pytest.fixture(autouse=True, params=["httpx", "aiohttp"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The async pool under test, chosen the way a user does (read when a model is built)."""
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", request.param)
    return str(request.param)


def _pool_kind(model: object) -> str:
    factory = model.root_async_client._client._transport._pool_factory  # type: ignore[attr-defined]
    return "aiohttp" if factory.__name__ == "AiohttpPool" else "httpx"


def test_ainvoke_and_astream_across_separate_event_loops(
    flexai_emulator: FlexAIEmulator, transport: str
) -> None:
    model = flexai_emulator.chat_model()
    assert _pool_kind(model) == transport

    async def both() -> tuple[str, str]:
        reply = await model.ainvoke("hello")
        streamed = "".join([c.text async for c in model.astream("hello")])
        return str(reply.content), streamed

    answers = [asyncio.run(both()) for _ in range(4)]
    assert len(set(answers)) == 1
    assert answers[0][0] == answers[0][1]
    assert answers[0][0].startswith("Received 1 message with 1 text part")
    assert len(flexai_emulator.requests) == 8


def test_two_models_on_one_base_url_share_a_pool_per_loop(flexai_emulator: FlexAIEmulator) -> None:
    first = flexai_emulator.chat_model()
    second = flexai_emulator.chat_model(temperature=0)
    assert first.root_async_client._client is second.root_async_client._client

    async def go() -> None:
        await asyncio.gather(first.ainvoke("a"), second.ainvoke("b"))

    asyncio.run(go())
    asyncio.run(go())
    assert len(flexai_emulator.requests) == 4


# -- pools die with their loop ------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_many_event_loops_do_not_leak_sockets(flexai_emulator: FlexAIEmulator) -> None:
    model = flexai_emulator.chat_model()

    async def ten() -> None:
        await asyncio.gather(*(model.ainvoke(f"hello {i}") for i in range(10)))

    asyncio.run(ten())  # the first run also imports and warms everything up
    gc.collect()
    baseline = open_fds()
    for _ in range(30):
        asyncio.run(ten())
    # Before pools closed with their loop, every run kept its ten client sockets (and the
    # emulator its ten server ends): 600 more descriptors here.
    assert settled_fds(baseline) <= baseline + SLACK
    assert len(flexai_emulator.requests) == 310


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_a_loop_closed_by_hand_is_released_by_the_next_request(
    flexai_emulator: FlexAIEmulator,
) -> None:
    model = flexai_emulator.chat_model()

    async def five() -> None:
        await asyncio.gather(*(model.ainvoke("hello") for _ in range(5)))

    asyncio.run(five())
    gc.collect()
    baseline = open_fds()
    with warnings.catch_warnings(record=True) as caught:
        # asyncio's own "unclosed transport", for loops closed so, is expected; the pool's own
        # (aiohttp's "Unclosed client session" / "Unclosed connector") is not.
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(5):  # old-style loops: closed without shutting down their async generators
            loop = asyncio.new_event_loop()
            loop.run_until_complete(five())
            loop.close()
        asyncio.run(model.ainvoke("hello"))  # any later request releases those pools
        assert settled_fds(baseline) <= baseline + SLACK
    assert not [w for w in caught if str(w.message).startswith("Unclosed")]


_TWO_RUNS = """
import asyncio, os
from langchain_flexai import ChatFlexAI

model = ChatFlexAI(base_url=os.environ["EMULATOR_BASE_URL"], api_key=os.environ["EMULATOR_KEY"])
factory = model.root_async_client._client._transport._pool_factory
print(factory.__name__)
for _ in range(2):
    async def main():
        await model.ainvoke("hello")
        [chunk async for chunk in model.astream("hello")]
    asyncio.run(main())
print("ok")
"""


def test_no_resource_warning_after_asyncio_run(
    flexai_emulator: FlexAIEmulator, transport: str
) -> None:
    env = {
        **os.environ,
        "EMULATOR_BASE_URL": flexai_emulator.base_url,
        "EMULATOR_KEY": flexai_emulator.api_key,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", _TWO_RUNS],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert "ResourceWarning" not in result.stderr
    assert "unclosed" not in result.stderr
    assert result.returncode == 0, result.stderr
    pool = "AiohttpPool" if transport == "aiohttp" else "_httpcore_pool"
    assert result.stdout.split() == [pool, "ok"]
