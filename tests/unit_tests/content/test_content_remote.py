"""``remote_images``: https images in message content passed on (default) or fetched on request.

No socket: the fetch itself (``images._fetch.fetch_image_bytes``) is replaced by a stub that
serves generated images and records each call and the thread it ran on.
"""

from __future__ import annotations

import asyncio
import base64
import io
import threading
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image
from pydantic import ValidationError

from langchain_flexai import FetchPolicy, ImageErrorReason, ImageInputError, prepare_messages
from langchain_flexai.images import _fetch
from langchain_flexai.images._fetch import RemoteFetcher
from tests.unit_tests.image_factory import encode
from tests.unit_tests.wire import WireRecorder

BIG = encode(Image.new("RGB", (3000, 2000), (200, 30, 30)), "JPEG")


class Served:
    """Stands in for the network: URL -> bytes, every fetch recorded with its thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.calls: list[tuple[str, int | None]] = []
        self.threads: set[int] = set()
        monkeypatch.setattr(_fetch, "fetch_image_bytes", self)

    def __call__(self, url: str, policy: Any = None, *, max_bytes: int | None = None) -> bytes:
        self.calls.append((url, max_bytes))
        self.threads.add(threading.get_ident())
        if url not in self.pages:
            raise ImageInputError(
                "the image could not be fetched: the server answered HTTP 404",
                reason=ImageErrorReason.FETCH_FAILED,
                source=_fetch.redact_url(url),
            )
        return self.pages[url]


def _message(*urls: str) -> HumanMessage:
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": "what is this?"}]
    parts += [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return HumanMessage(content=parts)


def _decoded(data_url: str) -> Image.Image:
    header, payload = data_url.split(",", 1)
    assert header == "data:image/jpeg;base64"
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def test_by_default_an_https_image_is_sent_as_it_is_and_nothing_is_fetched(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = Served(monkeypatch, {"https://img.example/a.jpg": BIG})
    reply = wire.model().invoke([_message("https://img.example/a.jpg")])
    assert wire.last["messages"][0]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://img.example/a.jpg"},
    }
    assert served.calls == []
    assert "images_fetched" not in reply.response_metadata


def test_fetch_sends_the_downscaled_image_as_a_data_url(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "https://img.example/a.jpg?X-Amz-Signature=abc"
    served = Served(monkeypatch, {url: BIG})
    model = wire.model(remote_images="fetch")
    reply = model.invoke([_message(url)])
    part = wire.last["messages"][0]["content"][1]
    assert set(part) == {"type", "image_url"}
    assert _decoded(part["image_url"]["url"]).size == (2048, 1365)
    assert served.calls == [(url, 64 * 1024 * 1024)]
    assert reply.response_metadata["images_fetched"] == 1
    assert reply.response_metadata["images_resized"] == 1


def test_detail_survives_the_fetch(wire: WireRecorder, monkeypatch: pytest.MonkeyPatch) -> None:
    Served(monkeypatch, {"https://img.example/a.jpg": BIG})
    message = HumanMessage(
        content=[
            {
                "type": "image_url",
                "image_url": {"url": "https://img.example/a.jpg", "detail": "low"},
            }
        ]
    )
    wire.model(remote_images="fetch").invoke([message])
    assert wire.last["messages"][0]["content"][0]["image_url"]["detail"] == "low"


def test_the_fetch_count_is_capped_before_any_fetch(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [f"https://img.example/{i}.jpg" for i in range(3)]
    served = Served(monkeypatch, dict.fromkeys(urls, BIG))
    model = wire.model(remote_images="fetch", fetch_policy=FetchPolicy(max_fetches=2))
    with pytest.raises(ImageInputError) as caught:
        model.invoke([_message(*urls)])
    assert caught.value.reason is ImageErrorReason.FETCH_REFUSED
    assert (caught.value.message_index, caught.value.part_index) == (0, 3)
    assert served.calls == []
    assert wire.requests == []


def test_a_failed_fetch_is_located_and_nothing_is_sent(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    Served(monkeypatch, {"https://img.example/ok.jpg": BIG})
    model = wire.model(remote_images="fetch")
    with pytest.raises(ImageInputError) as caught:
        model.invoke([_message("https://img.example/ok.jpg", "https://img.example/gone.jpg?t=1")])
    assert caught.value.reason is ImageErrorReason.FETCH_FAILED
    assert (caught.value.message_index, caught.value.part_index) == (0, 2)
    assert caught.value.source == "https://img.example/gone.jpg?…"
    assert wire.requests == []


def test_a_fetched_body_that_is_no_image_is_refused(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    Served(monkeypatch, {"https://img.example/a.jpg": b"<html>login</html>"})
    with pytest.raises(ImageInputError) as caught:
        wire.model(remote_images="fetch").invoke([_message("https://img.example/a.jpg")])
    assert caught.value.reason is ImageErrorReason.NOT_AN_IMAGE
    assert caught.value.source == "https://img.example/a.jpg"
    assert wire.requests == []


def test_async_fetches_never_run_on_the_event_loop_thread(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [f"https://img.example/{i}.jpg" for i in range(4)]
    served = Served(monkeypatch, dict.fromkeys(urls, BIG))
    model = wire.model(remote_images="fetch")

    async def run() -> int:
        await model.ainvoke([_message(*urls)])
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert len(served.calls) == 4
    assert loop_thread not in served.threads
    assert len(wire.last["messages"][0]["content"]) == 5


def test_prepare_messages_fetches_only_when_handed_a_fetcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = Served(monkeypatch, {"https://img.example/a.jpg": BIG})
    message = _message("https://img.example/a.jpg", "https://img.example/a.jpg")
    plain = prepare_messages([message])
    assert plain.messages[0].content[1] == {  # type: ignore[index]
        "type": "image_url",
        "image_url": {"url": "https://img.example/a.jpg"},
    }
    assert served.calls == []
    fetched = prepare_messages([message], fetch=RemoteFetcher())
    assert served.calls == [("https://img.example/a.jpg", 64 * 1024 * 1024)]  # once per URL
    assert fetched.stats.fetched == 2


def test_an_unknown_remote_images_mode_is_refused() -> None:
    with pytest.raises(ValidationError, match="remote_images"):
        WireRecorder().model(remote_images="download")


def test_the_same_picture_behind_two_urls_is_prepared_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_flexai.images import _doors, clear_image_cache  # noqa: PLC0415

    clear_image_cache()
    Served(
        monkeypatch,
        {"https://img.example/a.jpg?sig=1": BIG, "https://img.example/a.jpg?sig=2": BIG},
    )
    first = prepare_messages([_message("https://img.example/a.jpg?sig=1")], fetch=RemoteFetcher())
    misses = _doors._CACHE.misses
    second = prepare_messages([_message("https://img.example/a.jpg?sig=2")], fetch=RemoteFetcher())
    assert _doors._CACHE.misses == misses
    assert _doors._CACHE.hits >= 1
    assert first.messages[0].content[1] == second.messages[0].content[1]  # type: ignore[index]
