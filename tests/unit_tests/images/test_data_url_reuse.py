"""A clean data URL is sent as the very string given; base64 that needed clean-up, re-sent clean.

Whether the input text can be reused is decided by a length check (4 characters per 3 bytes
decoded), not by scanning it; these inputs, generated with and without the line breaks and
surrounding whitespace the decoder tolerates, pin that the check agrees with the text itself.
"""

from __future__ import annotations

import base64
import random

import pytest
from PIL import Image

from langchain_flexai import clear_image_cache, prepare_inline_image
from tests.unit_tests.image_factory import encode


def _variants(clean: str, rng: random.Random) -> list[tuple[str, bool]]:
    """(payload, is clean) pairs: the text itself and the shapes the decoder tolerates."""
    cut = rng.randrange(1, len(clean))
    wrapped = "\n".join(clean[i : i + 76] for i in range(0, len(clean), 76))
    return [
        (clean, True),
        (clean + "\n", False),
        ("\n" + clean, False),
        (" " + clean, False),
        (clean + "  ", False),
        (clean[:cut] + "\n" + clean[cut:], False),
        (clean[:cut] + "\r\n" + clean[cut:], False),
        (wrapped, len(clean) <= 76),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_the_url_is_reused_exactly_when_the_text_is_clean(seed: int) -> None:
    rng = random.Random(seed)
    size = (rng.randrange(8, 90), rng.randrange(8, 90))
    noise = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    fmt = rng.choice(["PNG", "JPEG", "GIF", "WEBP"])
    data = encode(noise.convert("P") if fmt == "GIF" else noise, fmt)
    clean = base64.b64encode(data).decode()
    mime = "image/" + fmt.lower()
    for payload, is_clean in _variants(clean, rng):
        clear_image_cache()
        url = f"data:{mime};base64,{payload}"
        prepared = prepare_inline_image(url)
        assert prepared.transformations == ()
        assert prepared.url == f"data:{mime};base64,{clean}"
        assert (prepared.url is url) is is_clean, repr(payload[:12])
