"""Odd inputs through the real openai SDK to the emulator: what it receives is what it reads.

An upper-case https URL reaches it lower-cased in scheme and host (it takes ``https://`` only);
a multi-picture JPEG arrives as one picture of the primary's size.
"""

from __future__ import annotations

import base64
import io

from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_flexai.testing import FlexAIEmulator


def test_an_upper_case_https_url_is_accepted_end_to_end(flexai_emulator: FlexAIEmulator) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What is it?"},
            {"type": "image_url", "image_url": {"url": "HTTPS://EXAMPLE.COM/Cat.PNG"}},
        ]
    )
    reply = flexai_emulator.chat_model().invoke([message])
    assert "Image 1: https URL https://example.com/Cat.PNG (not fetched" in str(reply.content)


def test_a_multi_picture_jpeg_arrives_as_its_primary_picture(
    flexai_emulator: FlexAIEmulator,
) -> None:
    buffer = io.BytesIO()
    primary = Image.new("RGB", (120, 80), (20, 40, 220))
    primary.save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (60, 40))])
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    part = {"type": "image_url", "image_url": {"url": url}}
    message = HumanMessage(content=[{"type": "text", "text": "What?"}, part])
    reply = flexai_emulator.chat_model().invoke([message])
    assert "Image 1: JPEG 120x80, blue." in str(reply.content)
    assert reply.response_metadata["images_primary_picture"] == 1
