"""The emulator's deterministic model: images reported from their bytes, schema-derived tool
arguments and structured output, reasoning content, stop and max_tokens, token counts.

Most go through ChatFlexAI (the way users meet the emulator); image validation goes through
plain httpx so the bytes on the wire are exactly the ones under test.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from PIL import Image
from pydantic import BaseModel, Field

from langchain_flexai.testing import FlexAIEmulator
from tests.integration_tests._target import STANDARD_TEST_IMAGE_URL, data_url, image_bytes

MODEL = "phi-4-multimodal-instruct"


def _image_message(*urls: str, text: str = "What is in these images?") -> HumanMessage:
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in urls)
    return HumanMessage(content=parts)


class TestImagesArriveIntact:
    def test_done_criterion_red_png(self) -> None:
        red = image_bytes((64, 64), (255, 0, 0))
        with FlexAIEmulator() as emu:
            reply = emu.chat_model().invoke([_image_message(data_url(red))])
            sent = emu.requests[-1].image_urls
        assert reply.content == (
            "Received 1 message with 1 text part and 1 image.\nImage 1: PNG 64x64, red."
        )
        assert sent == [data_url(red)]  # the bytes arrived unchanged

    def test_several_formats_in_order(self, flexai_emulator: FlexAIEmulator) -> None:
        urls = [
            data_url(image_bytes((100, 50), (20, 40, 220), "JPEG"), "image/jpeg"),
            data_url(image_bytes((30, 40), (0, 200, 0), "WEBP"), "image/webp"),
            data_url(image_bytes((10, 12), (250, 240, 0), "GIF"), "image/gif"),
            "https://example.com/cat.png",
        ]
        reply = flexai_emulator.chat_model().invoke([_image_message(*urls)])
        assert reply.content == (
            "Received 1 message with 1 text part and 4 images.\n"
            "Image 1: JPEG 100x50, blue.\n"
            "Image 2: WEBP 30x40, green.\n"
            "Image 3: GIF 10x12, yellow.\n"
            "Image 4: https URL https://example.com/cat.png (not fetched: the emulator never "
            "fetches URLs)."
        )

    def test_standard_suite_image_is_served_locally(
        self, flexai_emulator: FlexAIEmulator, standard_png: bytes
    ) -> None:
        downloaded = httpx.get(STANDARD_TEST_IMAGE_URL).content
        assert downloaded == standard_png
        reply = flexai_emulator.chat_model().invoke([_image_message(data_url(downloaded))])
        assert "Image 1: PNG 256x192, blue." in str(reply.content)

    def test_prompt_tokens_count_image_patches(self, flexai_emulator: FlexAIEmulator) -> None:
        # 4 (message) + ceil(2 bytes / 4) = 5 text tokens; 64x64 → ceil(64/28)^2 = 9 patches.
        url = data_url(image_bytes((64, 64), "red"))
        reply = flexai_emulator.chat_model().invoke([_image_message(url, text="hi")])
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["input_tokens"] == 5 + 9

    def test_text_only_model_that_ignores_images(self, flexai_emulator: FlexAIEmulator) -> None:
        url = data_url(image_bytes((16, 16), "red"))
        # ChatFlexAI refuses this by default (check_capabilities="known"); the emulator models
        # what FlexAI does when it is sent anyway.
        model = flexai_emulator.chat_model(model="gpt-oss-120b", check_capabilities=False)
        reply = model.invoke([_image_message(url)])
        assert "gpt-oss-120b is text-only and ignored the images" in str(reply.content)


def _post_image_part(emu: FlexAIEmulator, part: Any) -> httpx.Response:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}],
    }
    return httpx.post(
        f"{emu.base_url}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


PNG = image_bytes((8, 8), "red")
B64 = base64.b64encode(PNG).decode()

INVALID_PARTS = [
    ("http", {"type": "image_url", "image_url": {"url": "http://example.com/a.png"}},
     "'http:' URLs are not accepted"),
    ("file", {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}},
     "'file:' URLs are not accepted"),
    ("bare base64", {"type": "image_url", "image_url": {"url": B64}},
     "a bare path or string is not accepted"),
    ("string image_url", {"type": "image_url", "image_url": data_url(PNG)},
     "image_url must be an object"),
    ("bad base64", {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
     "base64 payload is malformed"),
    ("mime mismatch", {"type": "image_url", "image_url": {"url": data_url(PNG, "image/jpeg")}},
     "declared type image/jpeg does not match the bytes, which are PNG"),
    ("bmp", {"type": "image_url", "image_url": {
        "url": data_url(image_bytes((8, 8), "red", "BMP"), "image/bmp")}},
     "unsupported image type 'image/bmp'"),
    ("bmp labelled png", {"type": "image_url", "image_url": {
        "url": data_url(image_bytes((8, 8), "red", "BMP"))}},
     "format BMP is not supported"),
    ("not an image", {"type": "image_url", "image_url": {
        "url": data_url(b"hello world")}}, "the bytes are not an image"),
    ("truncated", {"type": "image_url", "image_url": {"url": data_url(PNG[:40])}},
     "truncated or corrupt"),
    ("animated gif", {"type": "image_url", "image_url": {
        "url": data_url(_animated_gif(), "image/gif")}}, "animated GIFs are not supported"),
    ("extra key", {"type": "image_url", "image_url": {"url": data_url(PNG)}, "x": 1},
     "unexpected keys ['x'] in an image_url part"),
    ("extra url key", {"type": "image_url", "image_url": {"url": data_url(PNG), "alt": "a"}},
     "unexpected keys ['alt'] in image_url"),
    ("bad detail", {"type": "image_url", "image_url": {"url": data_url(PNG), "detail": "max"}},
     "detail must be one of auto, low, high"),
    ("unknown part", {"type": "input_image", "image_url": data_url(PNG)},
     "unknown content part type 'input_image'"),
    ("empty", {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
     "carries no image bytes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("part", "message"), [p[1:] for p in INVALID_PARTS], ids=[p[0] for p in INVALID_PARTS]
)
def test_invalid_image_parts_are_400(
    flexai_emulator: FlexAIEmulator, part: Any, message: str
) -> None:
    response = _post_image_part(flexai_emulator, part)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("Invalid image at messages[0].content[1]: ") or (
        error["message"].startswith("messages[0].content[1]: ")
    )
    assert message in error["message"]


def test_valid_detail_is_accepted(flexai_emulator: FlexAIEmulator) -> None:
    part = {"type": "image_url", "image_url": {"url": data_url(PNG), "detail": "low"}}
    assert _post_image_part(flexai_emulator, part).status_code == 200


class Caption(BaseModel):
    """A caption."""

    title: str = Field(min_length=12)
    objects: int = Field(ge=3)
    tags: list[str] = Field(min_length=2)
    mood: str | None = None


def _add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class TestDeterministicModel:
    def test_structured_output_is_a_schema_instance(self, flexai_emulator: FlexAIEmulator) -> None:
        model = flexai_emulator.chat_model().with_structured_output(Caption)
        assert model.invoke("Describe it") == Caption(
            title="titlexxxxxxx", objects=3, tags=["tags", "tags"], mood="mood"
        )

    def test_forced_tool_call_with_schema_arguments(self, flexai_emulator: FlexAIEmulator) -> None:
        model = flexai_emulator.chat_model().bind_tools([_add], tool_choice="any")
        reply = model.invoke("What is 2 + 40?")
        assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("_add", {"a": 0, "b": 0})]
        body = flexai_emulator.requests[-1].body
        assert body["tool_choice"] == "required"

    def test_auto_tool_choice_answers_text(self, flexai_emulator: FlexAIEmulator) -> None:
        reply = flexai_emulator.chat_model().bind_tools([_add]).invoke("What is 2 + 40?")
        assert reply.tool_calls == []
        assert "Tools offered: _add; none called (tool_choice is auto" in str(reply.content)

    def test_json_object_reports_as_json(self, flexai_emulator: FlexAIEmulator) -> None:
        model = flexai_emulator.chat_model().bind(response_format={"type": "json_object"})
        reply = model.invoke([_image_message(data_url(image_bytes((20, 10), "white")))])
        assert json.loads(str(reply.content)) == {
            "messages": 1,
            "text_parts": 1,
            "tool_results": 0,
            "images": [
                {"source": "data", "format": "PNG", "width": 20, "height": 10, "colour": "white"}
            ],
        }

    def test_reasoning_content(self, flexai_emulator: FlexAIEmulator) -> None:
        model = flexai_emulator.chat_model(model="gpt-oss-120b")
        expected = (
            "The emulator does not reason. It counted 1 message, 1 text part and 0 images, "
            "and answers with that count."
        )
        reply = model.invoke("Hello")
        assert reply.additional_kwargs["reasoning_content"] == expected
        streamed = "".join(
            chunk.additional_kwargs.get("reasoning_content", "") for chunk in model.stream("Hello")
        )
        assert streamed == expected

    def test_stop_and_max_tokens(self, flexai_emulator: FlexAIEmulator) -> None:
        model = flexai_emulator.chat_model()
        stopped = model.invoke("Hello", stop=[" with"])
        assert stopped.content == "Received 1 message"
        assert stopped.response_metadata["finish_reason"] == "stop"
        short = flexai_emulator.chat_model(max_tokens=2).invoke("Hello")
        assert short.content == "Received"
        assert short.response_metadata["finish_reason"] == "length"
