"""Odd but real inputs: every one is either prepared into a valid image or refused with a reason.

Each input is generated here: multi-picture JPEGs (MPO, gain-map HDR), PNGs whose orientation
lives in an ``eXIf`` chunk after the pixels, in ImageMagick's "Raw profile" text or in XMP, APNGs
with a wrong frame count, every format this Pillow can write, ``.npy`` headers that lie, and
https URLs in upper case.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image, ImageOps

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import ImagePolicy, PreparedImage, prepare_image
from tests.unit_tests.wire import WireRecorder

# -- https URLs: scheme and host lower-cased on the wire ------------------------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("HTTPS://EXAMPLE.COM/Photos/Cat.PNG?Sig=AbC", "https://example.com/Photos/Cat.PNG?Sig=AbC"),
        ("https://example.com/a.png", "https://example.com/a.png"),
    ],
)
@pytest.mark.parametrize(
    "shape",
    [
        lambda url: {"type": "image", "url": url},
        lambda url: {"type": "image_url", "image_url": {"url": url}},
        lambda url: {"type": "image", "source_type": "url", "url": url},
    ],
    ids=["v1", "openai", "v0"],
)
def test_https_urls_reach_the_wire_with_scheme_and_host_lower_cased(
    wire: WireRecorder, given: str, sent: str, shape: Any
) -> None:
    wire.model().invoke([HumanMessage(content=["what is it?", shape(given)])])
    parts = wire.last["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": sent}}


def test_prepare_image_returns_the_url_it_sends() -> None:
    prepared = prepare_image("HTTPS://Example.COM/A.png")
    assert prepared.url == "https://example.com/A.png"
    assert prepared.to_openai_part() == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/A.png"},
    }
