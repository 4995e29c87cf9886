"""The Pillow-free WebP/GIF header reader agrees with Pillow's route, or steps aside (None).

Each generated file is prepared twice: through the header fast path, and with it switched off
(Pillow identifies the file and decides). Both must give the same bytes, MIME type, size and
transformations; for files the fast path takes, Pillow must not even be asked.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, PngImagePlugin

from langchain_flexai.errors import ImageInputError
from langchain_flexai.images import _codec
from langchain_flexai.images._codec import Encoded, encode_bytes
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._still_header import StillHeader, probe_still
from langchain_flexai.images._structure import Structure, walk_header
from tests.unit_tests.image_factory import exif_bytes, noisy

POLICY = ImagePolicy()


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def _translucent(size: tuple[int, int]) -> Image.Image:
    im = noisy(size, "RGBA")
    im.putalpha(Image.linear_gradient("L").resize(size))
    return im


def _text_chunk() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a screenshot tool")
    return info


def _png_16_bit_rgb() -> bytes:
    # Pillow cannot write 16-bit RGB: patch the IHDR bit depth of an 8-bit RGB PNG of half the
    # width, whose rows then hold the 16-bit samples (CRC recomputed).
    data = bytearray(_save(noisy((20, 10)), "PNG"))
    struct.pack_into(">I", data, 16, 10)
    data[24] = 16
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _frames(size: tuple[int, int], mode: str = "RGB") -> list[Image.Image]:
    return [Image.new(mode, size, colour) for colour in ("red", "blue", "green")]


def _pillow_route(monkeypatch: pytest.MonkeyPatch, data: bytes) -> Encoded:
    with monkeypatch.context() as patch:
        patch.setattr(_codec, "probe_still", lambda *_args, **_kwargs: None)
        return encode_bytes(data, POLICY, None)


def _fast_route(monkeypatch: pytest.MonkeyPatch, data: bytes) -> Encoded:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("Pillow was asked")

    with monkeypatch.context() as patch:
        patch.setattr(_codec, "identify", refuse)
        patch.setattr(ImageFile.ImageFile, "load", refuse)
        return encode_bytes(data, POLICY, None)


def _probe(data: bytes, fmt: str, *, exif_matters: bool) -> StillHeader | None:
    """probe_still as the codec calls it: after a walk (a GIF's size is read by the walk)."""
    if fmt != "GIF":  # the PNG and WebP probes read the file itself
        return probe_still(data, Structure(fmt, complete=True), exif_matters=exif_matters)
    structure = walk_header(data, POLICY.max_decode_pixels)
    assert structure is not None
    return probe_still(data, structure, exif_matters=exif_matters) if structure.complete else None


STILL = {
    "png rgb": lambda: _save(noisy((40, 30)), "PNG"),
    "png rgba": lambda: _save(_translucent((40, 30)), "PNG"),
    "png gray": lambda: _save(noisy((40, 30), "L"), "PNG"),
    "png gray alpha": lambda: _save(_translucent((9, 7)).convert("LA"), "PNG"),
    "png palette": lambda: _save(noisy((40, 30)).convert("P"), "PNG"),
    "png palette 2-bit": lambda: _save(noisy((40, 30)).convert("P", colors=4), "PNG", bits=2),
    "png bilevel": lambda: _save(noisy((40, 30)).convert("1"), "PNG"),
    "png palette tRNS": lambda: _save(Image.new("P", (9, 7)), "PNG", transparency=0),
    "png rgb tRNS": lambda: _save(noisy((9, 7)), "PNG", transparency=(1, 2, 3)),
    "png with ICC and gamma": lambda: _save(noisy((9, 7)), "PNG", icc_profile=b"\0" * 64),
    "webp lossy": lambda: _save(noisy((40, 30)), "WEBP", quality=80),
    "webp lossless": lambda: _save(noisy((33, 17)), "WEBP", lossless=True),
    "webp lossy alpha (VP8X + ALPH)": lambda: _save(_translucent((40, 30)), "WEBP"),
    "webp lossless alpha": lambda: _save(_translucent((21, 40)), "WEBP", lossless=True),
    "webp alpha and ICC": lambda: _save(_translucent((9, 9)), "WEBP", icc_profile=b"\1" * 40),
    "webp with ICC (VP8X)": lambda: _save(noisy((40, 30)), "WEBP", icc_profile=b"\0" * 64),
    "webp 1x1": lambda: _save(Image.new("RGB", (1, 1)), "WEBP"),
    "webp 16383 wide": lambda: _save(Image.new("RGB", (2000, 3)), "WEBP", lossless=True),
    "gif": lambda: _save(noisy((40, 30)).convert("P"), "GIF"),
    "gif gray": lambda: _save(noisy((40, 30), "L"), "GIF"),
    "gif transparent": lambda: _save(Image.new("P", (9, 7)), "GIF", transparency=0),
    "gif interlaced": lambda: _save(noisy((40, 30)).convert("P"), "GIF", interlace=True),
    "gif comment": lambda: _save(noisy((12, 5)).convert("P"), "GIF", comment=b"hello"),
    "gif87a": lambda: b"GIF87a" + _save(noisy((12, 5)).convert("P"), "GIF")[6:],
    "gif one frame with loop": lambda: _save(noisy((12, 5)).convert("P"), "GIF", loop=0),
}

LEFT_TO_PILLOW = {
    "png 16-bit": lambda: _save(Image.new("I;16", (20, 10), 4000), "PNG"),
    "png 16-bit rgb": _png_16_bit_rgb,
    "png with EXIF orientation": lambda: _save(noisy((40, 30)), "PNG", exif=exif_bytes(6)),
    "png with a text chunk": lambda: _save(noisy((40, 30)), "PNG", pnginfo=_text_chunk()),
    "png too big": lambda: _save(Image.new("RGB", (3000, 40)), "PNG"),
    "png animated": lambda: _save(
        _frames((20, 10))[0], "PNG", save_all=True, append_images=_frames((20, 10))[1:]
    ),
    "webp animated": lambda: _save(
        _frames((20, 10))[0], "WEBP", save_all=True, append_images=_frames((20, 10))[1:]
    ),
    "webp with EXIF orientation": lambda: _save(noisy((40, 30)), "WEBP", exif=exif_bytes(6)),
    "webp too big": lambda: _save(Image.new("RGB", (3000, 40)), "WEBP", lossless=True),
    "gif animated": lambda: _save(
        _frames((20, 10), "P")[0], "GIF", save_all=True, append_images=_frames((20, 10), "P")[1:]
    ),
    "gif too big": lambda: _save(Image.new("P", (3000, 40)), "GIF"),
}


@pytest.mark.parametrize("name", sorted(STILL))
def test_a_still_file_is_sent_as_is_without_asking_pillow(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    data = STILL[name]()
    fast = _fast_route(monkeypatch, data)
    assert fast.passthrough
    assert fast.data is data
    assert fast == _pillow_route(monkeypatch, data)
    with Image.open(io.BytesIO(data)) as im:
        assert (fast.width, fast.height) == im.size


@pytest.mark.parametrize("name", sorted(LEFT_TO_PILLOW))
def test_what_the_header_cannot_settle_is_left_to_pillow(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    data = LEFT_TO_PILLOW[name]()
    structure = walk_header(data, POLICY.max_decode_pixels)
    assert structure is not None
    with Image.open(io.BytesIO(data)) as im:
        size = im.size
    header = probe_still(data, structure, exif_matters=True) if structure.complete else None
    # Either the header declines, or it reads the right size and the policy sends it to Pillow.
    assert header is None or header[:2] == size
    assert encode_bytes(data, POLICY, None) == _pillow_route(monkeypatch, data)


def test_exif_in_a_webp_matters_only_when_the_policy_transposes() -> None:
    data = _save(noisy((40, 30)), "WEBP", exif=exif_bytes(6))
    assert _probe(data, "WEBP", exif_matters=True) is None
    assert _probe(data, "WEBP", exif_matters=False) == StillHeader(40, 30)


def test_a_declared_mime_that_lies_is_corrected_on_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = STILL["gif"]()
    with monkeypatch.context() as patch:
        patch.setattr(_codec, "identify", lambda *_a: pytest.fail("Pillow was asked"))
        fast = encode_bytes(data, POLICY, "image/png")
    assert fast.transformations == ("mime_corrected",)
    assert fast.mime_type == "image/gif"


def test_a_webp_declaring_no_animation_but_holding_frames_is_left_to_pillow() -> None:
    # A VP8X chunk with its animation flag cleared, followed by ANIM/ANMF chunks.
    animated = LEFT_TO_PILLOW["webp animated"]()
    vp8x = animated.index(b"VP8X")
    flags = animated[vp8x + 8] & ~0x02
    lying = animated[: vp8x + 8] + bytes([flags]) + animated[vp8x + 9 :]
    assert _probe(lying, "WEBP", exif_matters=True) is None


def _opens_at_its_size(sent: bytes, size: tuple[int, int]) -> bool:
    try:
        with Image.open(io.BytesIO(sent)) as im:
            return im.size == size
    except Exception:
        return False


@pytest.mark.parametrize("name", sorted(STILL))
def test_every_header_bit_flip_is_left_to_pillow_or_opens(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """What the header path sends as it is, Pillow opens at the size we report.

    Every bit of the first 64 bytes (signatures, chunk sizes, flags, canvas and frame headers,
    the GIF screen and first blocks) is flipped in turn.
    """
    data = STILL[name]()
    wrong = []
    for at in range(min(len(data), 64)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[at] ^= 1 << bit
            try:
                fast = _fast_route(monkeypatch, bytes(damaged))
            except (AssertionError, ImageInputError):
                continue  # Pillow was asked, or the flip was refused
            if not _opens_at_its_size(fast.data, (fast.width, fast.height)):
                wrong.append((at, bit))
    assert wrong == []


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    fmt=st.sampled_from(["WEBP", "GIF", "PNG"]),
    lossless=st.booleans(),
    alpha=st.booleans(),
)
def test_the_header_size_is_pillows_size(
    width: int, height: int, fmt: str, *, lossless: bool, alpha: bool
) -> None:
    im = Image.new("RGBA" if alpha else "RGB", (width, height), (10, 200, 30, 128))
    if fmt == "WEBP":
        data = _save(im, fmt, lossless=lossless)
    elif fmt == "GIF":
        data = _save(im.convert("P"), fmt)
    else:
        data = _save(im if alpha else im.convert("RGB"), fmt, optimize=lossless)
    structure = walk_header(data, POLICY.max_decode_pixels)
    assert structure is not None
    assert structure.complete
    header = probe_still(data, structure, exif_matters=True)
    with Image.open(io.BytesIO(data)) as opened:
        assert header is not None
        assert header[:2] == opened.size
        assert header.mode in ("", opened.mode)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:12] + b"VP8Z" + d[16:], id="unknown first chunk"),
        pytest.param(lambda d: d[:20] + bytes([d[20] | 1]) + d[21:], id="VP8 not a key frame"),
        pytest.param(lambda d: d[:23] + b"\0\0\0" + d[26:], id="VP8 start code missing"),
    ],
)
def test_a_damaged_webp_header_steps_aside(damage: object) -> None:
    data = STILL["webp lossy"]()
    assert callable(damage)
    assert _probe(damage(data), "WEBP", exif_matters=True) is None


def test_a_lossless_webp_of_an_unknown_version_steps_aside() -> None:
    data = bytearray(STILL["webp lossless"]())
    bits = struct.unpack_from("<I", data, 21)[0] | (1 << 29)
    struct.pack_into("<I", data, 21, bits)
    assert _probe(bytes(data), "WEBP", exif_matters=True) is None


def test_a_gif_of_zero_size_steps_aside() -> None:
    data = bytearray(STILL["gif"]())
    data[6:8] = b"\0\0"
    assert _probe(bytes(data), "GIF", exif_matters=True) is None
