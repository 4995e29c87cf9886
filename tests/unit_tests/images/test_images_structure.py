"""A file is sent byte for byte only when complete: every cut and every flip is caught or decodes.

The fast path never decodes, so what it sends must at least hold its image data and its end
marker (JPEG: frame, a scan with data, EOI; PNG: IHDR, IDAT, IEND; GIF: an image and the trailer;
WebP: an image chunk with its bitstream signature). The invariant, checked over every truncation
of small generated images of each format and over seeded random bit flips: the library raises
ImageInputError, or what it returns is an image Pillow reads at the size it reports.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
from collections.abc import Callable

import pytest
from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import clear_image_cache, prepare_image
from langchain_flexai.images._prepared import PreparedImage
from langchain_flexai.images._structure import walk_header
from tests.unit_tests.hostile_images import _gif_first_block, png_chunk
from tests.unit_tests.image_factory import encode, fresh_cache, noisy  # noqa: F401 - fixture

_PHOTO = noisy((40, 30))
SAMPLES: dict[str, bytes] = {
    "jpeg": encode(_PHOTO, "JPEG"),
    "jpeg-progressive": encode(_PHOTO, "JPEG", progressive=True),
    "png": encode(_PHOTO, "PNG"),
    "png-palette": encode(_PHOTO.convert("P"), "PNG"),
    "gif": encode(_PHOTO.convert("P"), "GIF"),
    "webp": encode(_PHOTO, "WEBP"),
    "webp-lossless": encode(_PHOTO, "WEBP", lossless=True),
    "webp-alpha": encode(_PHOTO.convert("RGBA"), "WEBP"),
}


def _outcome(data: bytes) -> tuple[PreparedImage, bytes] | None:
    """None when refused with the library's error; else the result and the bytes it sends."""
    clear_image_cache()
    try:
        prepared = prepare_image(data)
    except ImageInputError:
        return None
    return prepared, prepared.data()


def _decodes_fully(prepared: PreparedImage, sent: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            im = Image.open(io.BytesIO(sent))
            im.load()
        except Exception:
            return False
    return im.size == (prepared.width, prepared.height)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_compliant_sample_is_sent_untouched(name: str) -> None:
    data = SAMPLES[name]
    structure = walk_header(data, 10**9)
    assert structure is not None
    assert structure.complete
    assert prepare_image(data).data() == data


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_truncation_is_refused_or_decodes(name: str) -> None:
    data = SAMPLES[name]
    wrong = []
    for length in range(1, len(data)):
        result = _outcome(data[:length])
        if result is not None and not _decodes_fully(*result):
            wrong.append(length)
    assert wrong == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_random_bit_flips_are_refused_or_readable(name: str) -> None:
    """Flips inside compressed pixels are not looked for on the fast path (that needs a decode).

    So: anything re-encoded decodes fully; anything sent as it is opens at its stated size with
    its structure complete; and for PNG, whose container has CRCs, flips outside IDAT never pass.
    """
    data = SAMPLES[name]
    rng = random.Random(f"flip-{name}")
    wrong = []
    for _ in range(250):
        damaged = bytearray(data)
        at = rng.randrange(len(data))
        damaged[at] ^= 1 << rng.randrange(8)
        result = _outcome(bytes(damaged))
        if result is None:
            continue
        prepared, sent = result
        if sent != damaged:
            ok = _decodes_fully(prepared, sent)
        else:
            with Image.open(io.BytesIO(sent)) as im:
                ok = im.size == (prepared.width, prepared.height)
            structure = walk_header(sent, 10**9)
            ok = ok and structure is not None and structure.complete
            if name.startswith("png") and not _in_idat(data, at):
                ok = ok and _decodes_fully(prepared, sent)
        if not ok:
            wrong.append(at)
    assert wrong == []


def _in_idat(png: bytes, offset: int) -> bool:
    pos = 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        if kind == b"IDAT" and pos + 8 <= offset < pos + 12 + length:
            return True
        pos += 12 + length
    return False


def _jpeg_without_scan() -> bytes:
    # 23 bytes: SOI, a frame header claiming 100x100 grey, EOI. Sent as an image before.
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 100, 100, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + frame + b"\xff\xd9"


def _png_without_idat() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 100, 100, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def _gif_without_image() -> bytes:
    gif = SAMPLES["gif"]
    return gif[: _gif_first_block(gif)] + b";"


def _webp_without_image() -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (99).to_bytes(3, "little") * 2
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


@pytest.mark.parametrize(
    ("build", "what"),
    [
        (_jpeg_without_scan, ("the JPEG file holds no image data: its end marker (EOI) comes "
         "before any scan data")),
        (_png_without_idat, ("the PNG file holds no image data: its IEND chunk comes before any "
         "IDAT chunk")),
        (_gif_without_image, ("the GIF file holds no image data: its trailer comes before any "
         "image")),
        (_webp_without_image, ("the WebP file holds no image data: none of its chunks is an "
         "image (VP8, VP8L or animation frames)")),
    ],
    ids=["jpeg-no-scan", "png-no-idat", "gif-no-image", "webp-no-image-chunk"],
)  # fmt: skip
def test_a_file_without_image_data_is_never_called_compliant(
    build: Callable[[], bytes], what: str
) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(build())
    assert info.value.reason is ImageErrorReason.CORRUPT
    assert str(info.value) == (
        f"{what}; it is damaged or was written without its pixels (re-export the image)"
    )


def test_a_scan_without_data_is_decoded_not_sent() -> None:
    jpeg = SAMPLES["jpeg"]
    sos = jpeg.index(b"\xff\xda")
    header_end = sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    data = jpeg[:header_end] + b"\xff\xd9"  # a scan header, no entropy-coded data, EOI
    structure = walk_header(data, 10**9)
    assert structure is not None
    assert not structure.complete
    result = _outcome(data)
    assert result is None or (result[1] != data and _decodes_fully(*result))
