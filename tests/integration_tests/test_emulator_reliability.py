"""Reliability on loopback: many concurrent requests through injected 429s and 503s, clean
resource accounting, truncated streams, and errors that must not be retried or leak the key.

Bounded: at most 500 requests per test, each test under a pytest timeout.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path

import openai
import pytest
from langchain_core.messages import HumanMessage

from langchain_flexai.testing import FlexAIEmulator

REQUESTS = 500
CONCURRENCY = 50
INJECTED_429 = 25
INJECTED_503 = 25


def _open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def _threads() -> int:
    # The running loop's default executor ("asyncio_N") grows with concurrent DNS lookups under
    # load and lives as long as the loop: not a leak of the emulator's.
    return sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))


def _reply(messages: int) -> str:
    plural = "message" if messages == 1 else "messages"
    parts = "text part" if messages == 1 else "text parts"
    return f"Received {messages} {plural} with {messages} {parts} and 0 images."


async def _fan_out(emu: FlexAIEmulator, count: int) -> list[str]:
    # An explicit HTTP client, closed at the end: langchain-openai's cached default pool would
    # (rightly) keep its connections open after the test.
    async with openai.DefaultAsyncHttpxClient() as http_client:
        model = emu.chat_model(max_retries=3, http_async_client=http_client)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(index: int) -> str:
            # Request i carries (i % 7) + 1 messages, so every answer is checkable on its own.
            messages = [HumanMessage(f"request {index}")] * (index % 7 + 1)
            async with gate:
                reply = await model.ainvoke(messages)
            return str(reply.content)

        return await asyncio.gather(*(one(i) for i in range(count)))


@pytest.mark.timeout(120)
async def test_500_requests_through_429s_and_503s() -> None:
    with FlexAIEmulator() as warm_up:  # first-use imports and caches are not leaks
        warm_up.faults.fail_next(2, 503, retry_after=0.01)
        await _fan_out(warm_up, 60)
    gc.collect()  # descriptors of earlier tests' garbage are closed now, not during this one
    threads, fds = _threads(), _open_fds()

    with FlexAIEmulator() as emu:
        # Retry-After keeps the 429 retries quick; the 503s carry none, so the SDK's own
        # exponential backoff (0.5 s, then 1 s) is exercised too.
        emu.faults.fail_next(INJECTED_429, 429, retry_after=0.01)
        emu.faults.fail_next(INJECTED_503, 503)
        answers = await _fan_out(emu, REQUESTS)
        received = emu.requests

    assert answers == [_reply(i % 7 + 1) for i in range(REQUESTS)]
    statuses_injected = INJECTED_429 + INJECTED_503
    assert len(received) == REQUESTS + statuses_injected  # exactly one retry per failure
    assert emu.faults.pending_failures == 0
    gc.collect()
    # Nothing left open by the run (fewer is no leak: other tests' garbage may close meanwhile).
    assert _threads() == threads
    assert _open_fds() <= fds


def test_emulator_start_stop_releases_everything() -> None:
    FlexAIEmulator().start().stop()  # warm-up
    threads, fds = threading.active_count(), _open_fds()
    for _ in range(5):
        with FlexAIEmulator() as emu:
            assert emu.running
        assert not emu.running
    assert (threading.active_count(), _open_fds()) == (threads, fds)


def test_wrong_key_gets_401_without_the_key_in_the_error() -> None:
    wrong = "fake-wrong-key-7f3a"
    with FlexAIEmulator() as emu:
        model = emu.chat_model(api_key=wrong, max_retries=3)
        with pytest.raises(openai.APIStatusError) as caught:
            model.invoke("Hello")
        assert len(emu.requests) == 1  # 401 is not retried
    assert caught.value.status_code == 401
    assert wrong not in str(caught.value)
    assert wrong not in repr(caught.value)
    assert wrong not in repr(caught.value.body)
    assert wrong not in repr(model)
