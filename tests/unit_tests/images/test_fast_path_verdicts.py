"""The fast path's shortcuts reach the verdict the full path reaches, on damaged files too.

The compliant-file path was made cheaper by shortcuts, each of which must change no verdict:

- a GIF's blocks are walked once: the walk reads the size a decoder shows on its way
  (``Structure.shown``) instead of the header probe walking them again. Checked against the walk
  and probe as they were (``_gif_before_fusion``) on truncated, bit-flipped, padded and spliced
  GIFs: the same error (reason and message), the same completeness, the same size or refusal;
- only a JPEG goes to the JPEG probe and the multi-picture cut: for every other walk result
  both would have answered None;
- a JPEG's header segments are walked once: the walk reads the frame header and the EXIF
  orientation on its way (``Structure.jpeg``) instead of ``probe_jpeg`` walking them again.
  Checked against ``probe_jpeg`` on truncated and damaged JPEGs: for every file the walk finds
  complete, the same header;
- a VP8 (lossy WebP) frame header is read in one unpack: the same answer as the slices did,
  for any bytes;
- ``check_pixels`` is not repeated after ``fits()``: whatever the fast path sends, it would have
  let through;
- a still GIF of the common layout skips the walk and the probe altogether
  (``images._still_gif``): on every sample, truncation and damaged file, it answers the size the
  walk and probe give, or None (then the general route runs, as before).
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from langchain_flexai.errors import ImageInputError
from langchain_flexai.images import _codec
from langchain_flexai.images._codec import encode_bytes
from langchain_flexai.images._jpeg_header import probe_jpeg
from langchain_flexai.images._mpo import primary_picture
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._probe import check_pixels, decode_limit
from langchain_flexai.images._still_gif import still_gif_size
from langchain_flexai.images._still_header import _vp8, probe_still
from langchain_flexai.images._structure import Structure, walk_header
from tests.unit_tests.image_factory import encode, exif_bytes, noisy
from tests.unit_tests.images import _gif_before_fusion as before

POLICY = ImagePolicy()


def _gif(**params: object) -> bytes:
    return encode(noisy((40, 30)).convert("P"), "GIF", **params)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (20, 10), colour) for colour in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], loop=0)
    return buffer.getvalue()


def _offset_gif() -> bytes:
    # An image placed past the logical screen: decoders grow the canvas to hold it.
    data = bytearray(_gif(comment=b"x"))
    palette = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    at = data.index(b"\x2c", 13 + palette)  # past the comment: the image descriptor
    data[at + 1 : at + 3] = (30).to_bytes(2, "little")  # left
    return bytes(data)


def _two_frame_gif() -> bytes:
    # Frames whose pixels differ (Pillow merges frames that look the same into one).
    frames = [noisy((20, 10), seed=seed).convert("P") for seed in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def _small_screen_gif() -> bytes:
    # A logical screen smaller than the image (both sides): shown at the image's size.
    data = bytearray(_gif())
    data[6:10] = (10).to_bytes(2, "little") + (5).to_bytes(2, "little")
    return bytes(data)


def _short_subblocks_gif() -> bytes:
    # The image data re-cut into 100-byte sub-blocks (legal; some encoders write short ones).
    data = _gif()
    palette = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0
    at = data.index(b"\x2c", 13 + palette) + 11  # the image's LZW code size
    pos, lzw = at + 1, b""
    while data[pos]:
        lzw += data[pos + 1 : pos + 1 + data[pos]]
        pos += data[pos] + 1
    chunks = [lzw[i : i + 100] for i in range(0, len(lzw), 100)]
    body = b"".join(bytes([len(c)]) + c for c in chunks)
    return data[: at + 1] + body + data[pos:]


GIFS = [
    _gif(),
    _gif(comment=b"a comment"),
    _gif(transparency=0),
    _gif(interlace=True),
    _gif(loop=0),
    encode(noisy((300, 200), "L"), "GIF"),
    b"GIF87a" + _gif()[6:],
    _animated_gif(),
    _offset_gif(),
    _two_frame_gif(),
    _small_screen_gif(),
    _short_subblocks_gif(),
    _gif() + b"trailing garbage",
    _gif(comment=b"c" * 1000, loop=0, transparency=1, interlace=True),
    b"GIF89a\0\0\0\0" + _gif()[10:],  # an empty screen
]


def _mutations() -> st.SearchStrategy[bytes]:
    """A GIF cut short, with bytes flipped or overwritten, stray bytes inserted, or a range cut."""

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(GIFS)))
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, max(len(data) - 1, 0)))
            kind = draw(st.sampled_from(["cut", "flip", "set", "insert", "delete"]))
            if kind == "cut":
                del data[at:]
            elif kind == "flip" and at < len(data):
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "set" and at < len(data):
                data[at] = draw(st.sampled_from([0x00, 0x21, 0x2C, 0x3B, 0xFF, 0x80]))
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
            elif kind == "delete":
                del data[at : at + draw(st.integers(1, 300))]
        return bytes(data)

    return mutated()


def _verdict_before(data: bytes) -> tuple[object, ...]:
    try:
        structure = before.walk_gif(data)
    except ImageInputError as exc:
        return ("refused", exc.reason, exc.detail)
    if not structure.complete:
        return ("incomplete",)
    header = before.probe_gif(data)
    return ("declined",) if header is None else ("size", header.width, header.height)


def _verdict_now(data: bytes) -> tuple[object, ...]:
    try:
        structure = walk_header(data, POLICY.max_decode_pixels)
    except ImageInputError as exc:
        return ("refused", exc.reason, exc.detail)
    assert structure is not None
    assert structure.format == "GIF"
    if not structure.complete:
        return ("incomplete",)
    header = probe_still(data, structure, exif_matters=True)
    return ("declined",) if header is None else ("size", header.width, header.height)


ANIMATED = 9


def _shortcut_agrees(data: bytes) -> bool:
    """The one-pass GIF size is None, or the size the walk and probe give (and no refusal)."""
    shown = still_gif_size(data)
    return shown is None or _verdict_now(data) == ("size", *shown)


@pytest.mark.parametrize("index", range(len(GIFS)))
def test_every_sample_gets_the_verdict_it_had(index: int) -> None:
    data = GIFS[index]
    assert _verdict_now(data) == _verdict_before(data)
    assert _shortcut_agrees(data)


def test_the_one_pass_gif_size_answers_for_the_common_layouts() -> None:
    # Not a shortcut that always steps aside: every still sample with a screen gets its size.
    answered = {index for index, data in enumerate(GIFS) if still_gif_size(data) is not None}
    assert answered == set(range(len(GIFS))) - {ANIMATED, len(GIFS) - 1}  # and no screen
    assert still_gif_size(_offset_gif()) == (70, 30)  # the screen grown to hold the image
    assert still_gif_size(_small_screen_gif()) == (40, 30)
    compliant = encode_bytes(_gif(comment=b"x", loop=0), POLICY, "image/png")
    assert compliant.passthrough
    assert (compliant.width, compliant.height, compliant.transformations) == (
        40,
        30,
        ("mime_corrected",),
    )


def test_every_truncation_gets_the_verdict_it_had() -> None:
    for data in GIFS:
        for cut in range(6, len(data) + 1):
            assert _verdict_now(data[:cut]) == _verdict_before(data[:cut]), cut
            assert _shortcut_agrees(data[:cut]), cut


@pytest.mark.parametrize("size", [0, 1, 2, 100, 254, 255])
def test_every_bad_block_size_gets_the_general_verdict(size: int) -> None:
    # Each length byte of the file set to an odd value: the shortcut agrees or steps aside.
    for data in GIFS:
        for at in range(10, len(data)):
            damaged = data[:at] + bytes([size]) + data[at + 1 :]
            assert _shortcut_agrees(damaged), (at, size)


@settings(max_examples=1500, deadline=None)
@given(data=_mutations())
def test_every_damaged_gif_gets_the_verdict_it_had(data: bytes) -> None:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return  # no longer a GIF to the walk: not this test's business
    assert _verdict_now(data) == _verdict_before(data)
    assert _shortcut_agrees(data)


def _jpeg() -> bytes:
    return encode(noisy((40, 30)), "JPEG", quality=80, exif=exif_bytes(1))


def _mpo() -> bytes:
    buffer = io.BytesIO()
    noisy((40, 30)).save(buffer, "MPO", save_all=True, append_images=[noisy((20, 10), seed=2)])
    return buffer.getvalue()


JPEGS = [
    _jpeg(),
    encode(noisy((40, 30)), "JPEG", quality=80, exif=exif_bytes(6)),
    encode(noisy((33, 17), "L"), "JPEG"),
    encode(noisy((40, 30)), "JPEG", progressive=True, comment=b"a comment"),
    encode(noisy((40, 30), "CMYK"), "JPEG"),
    _mpo(),
]
CMYK, MPO = 4, 5


def _jpeg_mutations() -> st.SearchStrategy[bytes]:
    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(JPEGS)))
        header_end = data.index(b"\xff\xda") + 20  # damage where the headers are, mostly
        for _ in range(draw(st.integers(1, 3))):
            if len(data) < 4:
                break
            at = draw(st.integers(2, min(header_end, len(data) - 1)))
            kind = draw(st.sampled_from(["cut", "flip", "set", "insert"]))
            if kind == "cut":
                del data[draw(st.integers(at, len(data))) :]
            elif kind == "flip" and at < len(data):
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "set" and at < len(data):
                data[at] = draw(st.sampled_from([0x00, 0xFF, 0xC0, 0xC2, 0xDA, 0xE1, 0xE2, 8]))
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
        return bytes(data)

    return mutated()


def _walked(data: bytes) -> object:
    try:
        return walk_header(data, POLICY.max_decode_pixels)
    except ImageInputError as exc:
        return exc


@pytest.mark.parametrize("index", range(len(JPEGS)))
def test_every_jpeg_sample_has_the_header_probe_jpeg_reads(index: int) -> None:
    data = JPEGS[index]
    structure = walk_header(data, POLICY.max_decode_pixels)
    assert structure is not None
    if index == CMYK:  # not a frame a file sent as it is may have: decoded, no header needed
        assert not structure.complete
        assert structure.jpeg is None
        return
    assert structure.complete
    assert structure.jpeg == probe_jpeg(data)
    if index != MPO:  # the MPO's index makes both step aside
        assert structure.jpeg is not None


@settings(max_examples=1500, deadline=None)
@given(data=_jpeg_mutations())
def test_every_damaged_jpeg_gets_the_header_probe_jpeg_reads(data: bytes) -> None:
    structure = _walked(data)
    if isinstance(structure, ImageInputError) or structure is None:
        return  # refused (or no longer a JPEG): no header is read either way
    assert isinstance(structure, Structure)
    if structure.complete:
        assert structure.jpeg == probe_jpeg(data)
    else:
        assert structure.jpeg is None  # the codec's JPEG fast path needs a complete file


SAMPLES = {
    "JPEG": _jpeg(),
    "PNG": encode(noisy((40, 30)), "PNG"),
    "WEBP": encode(noisy((40, 30)), "WEBP", quality=80),
    "GIF": _gif(),
}


@settings(max_examples=400, deadline=None)
@given(
    fmt=st.sampled_from(sorted(SAMPLES)),
    at=st.integers(0, 400),
    value=st.integers(0, 255),
    cut=st.integers(0, 5000),
)
def test_the_format_dispatch_and_the_dropped_pixel_check_change_nothing(
    fmt: str, at: int, value: int, cut: int
) -> None:
    data = bytearray(SAMPLES[fmt][:cut] if cut > 2 else SAMPLES[fmt])
    if at < len(data):
        data[at] = value
    damaged = bytes(data)
    try:
        structure = walk_header(damaged, POLICY.max_decode_pixels)
    except ImageInputError:
        return
    if structure is None or structure.format != "JPEG":
        # What the codec no longer asks: it would have answered None.
        assert probe_jpeg(damaged) is None
        assert primary_picture(damaged) is None

    def asked(*_args: object) -> None:
        raise LookupError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_codec, "identify", asked)
        try:
            sent = encode_bytes(damaged, POLICY, None)
        except (LookupError, ImageInputError):
            return
    assert sent.passthrough
    check_pixels(sent.width, sent.height, POLICY, sent.original_mime_type.split("/")[1].upper())


@settings(max_examples=200, deadline=None)
@given(
    max_pixels=st.integers(1, 10**8),
    extra=st.integers(0, 10**9),
    fmt=st.sampled_from([None, "JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"]),
)
def test_every_decode_limit_is_at_least_max_pixels(
    max_pixels: int, extra: int, fmt: str | None
) -> None:
    # Why fits() makes check_pixels redundant on the fast path: no limit is below max_pixels.
    policy = ImagePolicy(max_pixels=max_pixels, max_decode_pixels=max_pixels + extra)
    assert decode_limit(policy, fmt)[0] >= max_pixels


@settings(max_examples=3000, deadline=None)
@given(
    chunk_size=st.one_of(st.integers(0, 1 << 20), st.integers(0, (1 << 32) - 1)),
    tag=st.integers(0, (1 << 24) - 1),
    start_code=st.sampled_from([b"\x9d\x01\x2a", b"\x9d\x01\x2b", b"\0\0\0"]),
    width=st.integers(0, 0xFFFF),
    height=st.integers(0, 0xFFFF),
    cut=st.one_of(st.just(30), st.integers(16, 30)),
    shown_key_frame=st.booleans(),
)
def test_the_vp8_header_reads_as_it_did(
    chunk_size: int,
    tag: int,
    start_code: bytes,
    width: int,
    height: int,
    cut: int,
    *,
    shown_key_frame: bool,
) -> None:
    if shown_key_frame:  # a shown key frame of a known version: the partition size then decides
        tag = (tag & ~0b1111) | 0x10
    fields = (
        chunk_size.to_bytes(4, "little")
        + tag.to_bytes(3, "little")
        + start_code
        + width.to_bytes(2, "little")
        + height.to_bytes(2, "little")
    )
    data = (b"RIFF\0\0\0\0WEBPVP8 " + fields)[:cut]
    assert _vp8(data, 20) == before.vp8(data, 20)
