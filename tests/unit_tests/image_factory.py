"""Small images built in-test with Pillow, and ways to look at what came out."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from langchain_flexai.images import _doors as images
from langchain_flexai.images._prepared import PreparedImage

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREEN = (0, 255, 0)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def noisy(size: tuple[int, int], mode: str = "RGB", seed: int = 7) -> Image.Image:
    """A photo-like image (gradient plus noise) that compresses like a photo; deterministic."""
    rng = random.Random(seed)
    noise = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    gradient = Image.linear_gradient("L").rotate(90).resize(size).convert("RGB")
    return Image.blend(noise, gradient, 0.75).convert(mode)


def corner_image(size: tuple[int, int] = (64, 32)) -> Image.Image:
    """Blue, with a red block in the top-left corner: shows where 'up' and 'left' went."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] // 4, size[1] // 4))
    return im


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def decoded(prepared: PreparedImage) -> Image.Image:
    im = Image.open(io.BytesIO(prepared.data()))
    im.load()
    return im


def is_red(pixel: object) -> bool:
    assert isinstance(pixel, tuple)
    r, g, b = pixel[:3]
    return r > 200 and g < 60 and b < 60


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and a valid IHDR claiming a size, with no pixel data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)  # the start of a deflate stream that would expand hugely
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def gif_header_only(width: int, height: int) -> bytes:
    """A GIF header and an image descriptor claiming a size, with no pixel data behind it."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x08"
    return screen + descriptor


def jpeg_header_only(width: int, height: int) -> bytes:
    """A real JPEG's markers with its SOF0 size patched to a huge one, scan data cut off."""
    data = bytearray(encode(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    sos = data.index(b"\xff\xda")
    return bytes(data[: sos + 20])


def forbid_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, any pixel decode fails loudly: proves a path never decodes."""

    def refuse(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    images.clear_image_cache()
