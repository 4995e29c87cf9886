"""A run stopped by an error no image can avoid still hands out every record finished before it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from langchain_flexai.describe import DescribeRecord, ImageDescriber
from langchain_flexai.images import PreparedImage, prepare_image
from tests.unit_tests.loader_samples import CountingModel, save_image


def _images(root: Path) -> list[PreparedImage]:
    paths = [save_image(root / f"{i}.png", (10 + i, 10), fmt="PNG") for i in range(3)]
    return [prepare_image(p) for p in paths]


def _unauthorised() -> openai.AuthenticationError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(401, request=request)
    return openai.AuthenticationError("bad key", response=response, body=None)


def _wait_for_stop(describer: ImageDescriber) -> None:
    # A condition, not a duration: the bound only keeps a broken run from hanging the suite.
    deadline = time.monotonic() + 30
    while describer._run is None or describer._run.fatal is None:
        assert time.monotonic() < deadline, "the run never stopped"
        time.sleep(0.001)


def test_a_record_finished_before_the_stop_is_handed_out(tmp_path: Path) -> None:
    first, second, third = _images(tmp_path)
    model = CountingModel(fail_for={second.sha256 or "": _unauthorised()})
    describer = ImageDescriber(model, max_concurrency=2)

    def inputs() -> Iterator[PreparedImage]:
        yield first
        yield second
        # The consumer is busy here (preparing the next file) while the first answer arrives
        # and the second request stops the run.
        _wait_for_stop(describer)
        while len(model.requests) < 2:
            time.sleep(0.001)
        yield third

    got: list[DescribeRecord] = []
    with pytest.raises(openai.AuthenticationError):
        got.extend(describer.describe(inputs()))
    assert [r.source for r in got] == [first.source]
    assert got[0].status == "described"


def test_the_same_on_the_event_loop(tmp_path: Path) -> None:
    # The event loop hands a finished head out as soon as it checks; this pins that a cached
    # record before the stop is kept and the stop still raises in order.
    first, second, third = _images(tmp_path)
    cache = tmp_path / "c.sqlite"
    list(ImageDescriber(CountingModel(), cache_path=cache).describe([first]))
    model = CountingModel(fail_for={second.sha256 or "": _unauthorised()})
    # The first answer comes from the cache: finished before the second request stops the run.
    describer = ImageDescriber(model, max_concurrency=2, cache_path=cache)
    stopped = asyncio.Event()

    async def watch() -> None:
        while describer._run is None or describer._run.fatal is None:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        stopped.set()

    async def inputs() -> AsyncIterator[PreparedImage]:
        yield first
        yield second
        await stopped.wait()
        yield third

    async def collect(got: list[DescribeRecord]) -> None:
        async for record in describer.adescribe(inputs()):
            got.append(record)  # noqa: PERF401 - kept as it arrives, up to the raise

    async def main() -> list[DescribeRecord]:
        got: list[DescribeRecord] = []
        watcher = asyncio.ensure_future(watch())
        with pytest.raises(openai.AuthenticationError):
            await collect(got)
        await watcher
        return got

    got = asyncio.run(asyncio.wait_for(main(), 30))
    assert [(r.source, r.status) for r in got] == [(first.source, "cached")]
