"""Where an async request's images are prepared: a worker thread unless the work is light.

Light: cached images, and small images sent as they are (a header walk). The decision is
structural (the content cache's header-work mode: pixel work, a PDF page, a fetch or a large
input stops the attempt on the loop before it starts), so these tests count thread hops, never
time.
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


def _message(data: bytes, mime: str = "image/png") -> HumanMessage:
    url = f"data:{mime};base64," + base64.b64encode(data).decode()
    return HumanMessage(
        content=[
            {"type": "text", "text": "What?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )


def _image(seed: int) -> HumanMessage:
    """A small PNG sent as it is: preparing it is a header walk."""
    return _message(encode(noisy((40, 30), seed=seed), "PNG"))


def _needs_work(seed: int) -> HumanMessage:
    """A BMP: converted to PNG, which takes Pillow (pixel work)."""
    return _message(encode(noisy((40, 30), seed=seed), "BMP"), "image/bmp")


def test_a_small_image_sent_as_it_is_is_prepared_on_the_loop(hops: list[str]) -> None:
    clear_image_cache()
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    message = _image(1)
    answer = asyncio.run(model.ainvoke([message]))
    assert hops == []
    assert answer.response_metadata["images_sent"] == 1
    model.invoke([message])  # the sync road sends the very same body
    assert recorder.requests[0].body == recorder.requests[1].body


def test_pixel_work_goes_to_a_thread_and_the_cached_result_stays_on_the_loop(
    hops: list[str],
) -> None:
    clear_image_cache()
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    message = _needs_work(1)

    async def twice() -> None:
        await model.ainvoke([message])
        await model.ainvoke([message])  # the same image: cached

    asyncio.run(twice())
    assert len(hops) == 1
    assert recorder.requests[0].body == recorder.requests[1].body
    assert (
        recorder.requests[0]
        .body["messages"][0]["content"][1]["image_url"]["url"]
        .startswith("data:image/png;base64,")
    )


def test_an_input_over_the_on_loop_bound_goes_to_a_thread(
    hops: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_flexai.content import _offload  # noqa: PLC0415

    data = encode(noisy((40, 30), seed=5), "PNG")
    model = WireRecorder().model(api_key="test-key")
    clear_image_cache()
    monkeypatch.setattr(_offload, "ON_LOOP_INPUT_BYTES", len(data) // 2)
    asyncio.run(model.ainvoke([_message(data)]))
    assert len(hops) == 1
    clear_image_cache()
    monkeypatch.setattr(_offload, "ON_LOOP_INPUT_BYTES", len(data) * 2)
    asyncio.run(model.ainvoke([_message(data)]))
    assert len(hops) == 1  # within the bound: on the loop


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


def test_one_image_that_needs_work_among_light_ones_sends_the_request_to_a_thread(
    hops: list[str],
) -> None:
    clear_image_cache()
    model = WireRecorder().model(api_key="test-key")
    light, heavy = _image(2), _needs_work(3)
    both = HumanMessage(content=[*light.content, *heavy.content])
    answer = asyncio.run(model.ainvoke([both]))
    assert len(hops) == 1
    assert answer.response_metadata["images_sent"] == 2
    assert answer.response_metadata["images_converted"] == 1
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
    assert hops == []  # a small input: refused on the loop
    with pytest.raises(ImageInputError) as second:
        model.invoke([bad])
    assert str(first.value) == str(second.value)
    broken = _message(b"BM" + b"\0" * 64, "image/bmp")  # refused by Pillow, in the thread
    with pytest.raises(ImageInputError) as third:
        asyncio.run(model.ainvoke([broken]))
    assert len(hops) == 1
    with pytest.raises(ImageInputError) as fourth:
        model.invoke([broken])
    assert str(third.value) == str(fourth.value)
