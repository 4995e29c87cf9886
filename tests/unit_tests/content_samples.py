"""Shared samples for the content tests: small images made in memory, part builders, a runner."""

from __future__ import annotations

import base64
import io
from functools import cache
from typing import Any

from langchain_core.language_models._utils import _normalize_messages
from langchain_core.language_models.chat_models import _format_for_tracing
from langchain_core.messages import (
    BaseMessage,
    HumanMessage,
)
from PIL import Image

from langchain_flexai import prepare_messages
from langchain_flexai.content._messages import PreparedMessages, shield_from_core
from langchain_flexai.errors import ImageErrorReason
from langchain_flexai.images._doors import prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy

R = ImageErrorReason

# -- test images, made in memory --------------------------------------------------------------


@cache
def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8), **save: Any) -> bytes:
    mode = "CMYK" if fmt == "CMYK-JPEG" else "RGB"
    im = Image.new(mode, size, (255, 0, 0, 0) if mode == "CMYK" else (255, 0, 0))
    buf = io.BytesIO()
    im.save(buf, format="JPEG" if fmt == "CMYK-JPEG" else fmt, **save)
    return buf.getvalue()


@cache
def animated_gif() -> bytes:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buf.getvalue()


@cache
def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display upright
    buf = io.BytesIO()
    Image.new("RGB", (16, 8), (0, 128, 0)).save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
B64_PNG = b64(PNG)
B64_JPEG = b64(JPEG)
DATA_PNG = f"data:image/png;base64,{B64_PNG}"
DATA_JPEG = f"data:image/jpeg;base64,{B64_JPEG}"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTTPS = "https://example.com/cat.png"


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def img(url: str, detail: str | None = None) -> dict[str, Any]:
    image_url = {"url": url}
    if detail is not None:
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def prepared_part(data: str | bytes, detail: str | None = None, **policy: Any) -> dict[str, Any]:
    """What images.py makes of inline data: content.py must put exactly this on the wire."""
    return prepare_inline_image(data, policy=ImagePolicy(**policy)).to_openai_part(detail)


PATHS = ["as-written", "core-normalized", "chat-model"]
"""How messages reach prepare_messages.

- ``as-written``: called directly on the user's messages.
- ``core-normalized``: after langchain-core's ``_normalize_messages`` alone (v0 and OpenAI file
  blocks rewritten to v1, detail moved to extras, image files relabelled PDF).
- ``chat-model``: what ChatFlexAI does: :func:`shield_from_core` first, then core's
  ``_format_for_tracing`` (must not raise) and ``_normalize_messages``.
"""


def through(messages: list[BaseMessage], path: str) -> list[BaseMessage]:
    """The messages as prepare_messages receives them on ``path`` (see :data:`PATHS`)."""
    if path == "core-normalized":
        return _normalize_messages(messages)
    if path == "chat-model":
        shielded = shield_from_core(messages)
        _format_for_tracing(shielded)
        return _normalize_messages(shielded)
    return messages


def run(content: Any, *, path: str = "as-written", **kwargs: Any) -> PreparedMessages:
    return prepare_messages(through([HumanMessage(content=content)], path), **kwargs)


# Rows langchain-core's own normalisation crashes on when it meets them unshielded: a v0 block
# with an ``id`` is rebuilt with ``id`` passed twice. shield_from_core avoids it; the
# core-normalized path asserts the crash, so this set must shrink once core is fixed.
CORE_CRASHES = {"6 v0 with id"}
# Rows core's tracing step crashes on unshielded (base64 image without mime_type).
TRACING_CRASHES = {"7 v0 no mime", "8 v1 base64 no mime", "11 v1 base64 data url no mime"}


def locate(message_index: int, part_index: int, detail: str) -> str:
    return f"message {message_index}, part {part_index}: {detail}"
