"""Where an async request's images are prepared: a worker thread unless every image is cached.

The decision is structural (the content cache's all-hits mode: the first miss sends the request
to a thread), so these tests count thread hops, never time.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_flexai import clear_image_cache
from tests.unit_tests.image_factory import encode, noisy
from tests.unit_tests.wire import WireRecorder


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each of the package's functions sent to a worker thread by ``asyncio.to_thread``.

    (The SDK sends its own once per client, to read the platform: not counted.)
    """
    seen: list[str] = []
    real = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__module__", "").startswith("langchain_flexai"):
            seen.append(func.__qualname__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    return seen


def _image(seed: int) -> HumanMessage:
    data = base64.b64encode(encode(noisy((40, 30), seed=seed), "PNG")).decode()
    url = "data:image/png;base64," + data
    return HumanMessage(
        content=[
            {"type": "text", "text": "What?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )


def test_a_fresh_image_is_prepared_in_a_thread_and_a_cached_one_on_the_loop(
    hops: list[str],
) -> None:
    clear_image_cache()
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    message = _image(1)

    async def twice() -> None:
        await model.ainvoke([message])
        await model.ainvoke([message])  # the same image: cached

    asyncio.run(twice())
    assert len(hops) == 1
    assert recorder.requests[0].body == recorder.requests[1].body


def test_text_only_and_https_requests_stay_on_the_loop(hops: list[str]) -> None:
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    remote = HumanMessage(
        content=[
            {"type": "text", "text": "What?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ]
    )
    asyncio.run(model.ainvoke("Hi"))
    asyncio.run(model.ainvoke([remote]))
    assert hops == []
    assert len(recorder.requests) == 2


def test_one_uncached_image_among_cached_ones_sends_the_request_to_a_thread(
    hops: list[str],
) -> None:
    clear_image_cache()
    model = WireRecorder().model(api_key="test-key")
    cached, fresh = _image(2), _image(3)
    asyncio.run(model.ainvoke([cached]))
    hops.clear()
    both = HumanMessage(content=[*cached.content, *fresh.content])
    answer = asyncio.run(model.ainvoke([both]))
    assert len(hops) == 1
    assert answer.response_metadata["images_sent"] == 2
    assert asyncio.run(model.ainvoke([both])).response_metadata["images_sent"] == 2
    assert len(hops) == 1  # now all cached: on the loop


def test_a_bad_image_fails_the_same_way_on_either_road(hops: list[str]) -> None:
    from langchain_flexai import ImageInputError  # noqa: PLC0415

    model = WireRecorder().model(api_key="test-key")
    bad = HumanMessage(
        content=[{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!!"}}]
    )
    with pytest.raises(ImageInputError, match="invalid base64") as first:
        asyncio.run(model.ainvoke([bad]))
    assert len(hops) == 1
    with pytest.raises(ImageInputError) as second:
        model.invoke([bad])
    assert str(first.value) == str(second.value)
