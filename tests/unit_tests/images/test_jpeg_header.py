"""The Pillow-free JPEG header reader agrees with Pillow, or steps aside (None)."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from langchain_flexai.images._jpeg_header import JpegHeader, probe_jpeg

ORIENTATION = 0x0112


def _jpeg(
    mode: str = "RGB",
    size: tuple[int, int] = (40, 30),
    orientation: int | None = None,
    **save: object,
) -> bytes:
    buffer = io.BytesIO()
    kwargs = dict(save)
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        kwargs["exif"] = exif
    Image.new(mode, size, "red" if mode != "L" else 128).save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", [None, 1, 2, 3, 4, 5, 6, 7, 8])
def test_orientation_and_size_match_pillow(orientation: int | None) -> None:
    data = _jpeg(orientation=orientation)
    with Image.open(io.BytesIO(data)) as im:
        expected = im.getexif().get(ORIENTATION, 1)
    assert probe_jpeg(data) == JpegHeader(40, 30, 3, expected)


def test_big_endian_exif() -> None:
    # Pillow writes little-endian EXIF; cameras often write "MM". Build one by hand.
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", ORIENTATION, 3, 1, 6, 0) + b"\0\0\0\0"
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    plain = _jpeg()
    data = plain[:2] + app1 + plain[2:]
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif()[ORIENTATION] == 6
    assert probe_jpeg(data) == JpegHeader(40, 30, 3, 6)


@pytest.mark.parametrize(
    ("mode", "components", "save"),
    [("L", 1, {}), ("CMYK", 4, {}), ("RGB", 3, {"progressive": True}), ("RGB", 3, {"quality": 5})],
)
def test_components_and_progressive(mode: str, components: int, save: dict[str, object]) -> None:
    header = probe_jpeg(_jpeg(mode, (17, 9), **save))
    assert header == JpegHeader(17, 9, components, 1)


def test_multi_picture_files_go_to_pillow() -> None:
    buffer = io.BytesIO()
    first = Image.new("RGB", (20, 20), "red")
    first.save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (20, 20), "blue")])
    assert probe_jpeg(buffer.getvalue()) is None


@pytest.mark.parametrize("cut", [2, 4, 20, 100])
def test_truncated_headers_go_to_pillow(cut: int) -> None:
    assert probe_jpeg(_jpeg()[:cut]) is None


def test_not_a_jpeg() -> None:
    assert probe_jpeg(b"\x89PNG\r\n\x1a\n") is None
    assert probe_jpeg(b"") is None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(tail: bytes) -> None:
    result = probe_jpeg(b"\xff\xd8" + tail)
    assert result is None or isinstance(result, JpegHeader)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 600), st.binary(min_size=1, max_size=8))
def test_damaged_real_headers_never_raise(offset: int, junk: bytes) -> None:
    data = bytearray(_jpeg(orientation=6))
    data[offset : offset + len(junk)] = junk
    result = probe_jpeg(bytes(data))
    assert result is None or isinstance(result, JpegHeader)
