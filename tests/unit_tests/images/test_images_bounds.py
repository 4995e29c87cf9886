"""Decode work is bounded by structure, not only pixels: hostile files are refused in milliseconds.

Each class of hostile input is generated here (tests/unit_tests/hostile_images.py) and must be
refused with the library's own error, its reason and a message naming what is wrong, within a
generous CPU budget (the issue's target: at most 1 s for any input up to 1 MB). Legit files near
the caps still go through.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PIL import Image, ImageFile

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import _doors as images
from langchain_flexai.images import _structure as _image_structure
from langchain_flexai.images._doors import prepare_image, prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests import hostile_images as hostile
from tests.unit_tests.image_factory import (  # noqa: F401 - fixtures
    encode,
    forbid_decode,
    fresh_cache,
    noisy,
)

CPU_BUDGET = 1.0  # seconds; the walks take milliseconds, the old code took 0.3-13 s on these


@contextmanager
def cpu_at_most(seconds: float) -> Iterator[None]:
    start = time.process_time()
    yield
    spent = time.process_time() - start
    assert spent < seconds, f"{spent:.2f} s of CPU"


def _refusal(data: bytes, policy: ImagePolicy | None = None) -> ImageInputError:
    with cpu_at_most(CPU_BUDGET), pytest.raises(ImageInputError) as info:
        prepare_image(data, policy)
    return info.value


def _fill_bytes_jpeg() -> bytes:
    data = encode(noisy((32, 32)), "JPEG")
    return data[:2] + b"\xff" * 100_000 + data[2:]


def _gif_one_long_comment() -> bytes:
    data = encode(noisy((32, 32)).convert("P"), "GIF")
    at = hostile._gif_first_block(data)
    return data[:at] + b"\x21\xfe" + b"\x01x" * 20_000 + b"\x00" + data[at:]


TOO_COMPLEX: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg-2000-progressive-scans": (
        lambda: hostile.progressive_jpeg_with_repeated_scans((1024, 1024), 2000),
        "the JPEG file has more than 100 scans",
    ),
    "jpeg-100k-comment-segments": (
        lambda: hostile.jpeg_with_comments(100_000),
        "the JPEG file has more than 1,000 marker segments",
    ),
    "jpeg-100k-fill-bytes": (
        _fill_bytes_jpeg,
        "the JPEG file has more than 65,536 fill or stray bytes between segments",
    ),
    "png-80k-empty-chunks": (
        lambda: hostile.png_with_empty_chunks(80_000),
        "the PNG file has more than 1,000 metadata chunks (other than IDAT, fcTL, fdAT)",
    ),
    "png-2m-empty-chunks-24mb": (
        lambda: hostile.png_with_empty_chunks(2_000_000),
        "the PNG file has more than 1,000 metadata chunks (other than IDAT, fcTL, fdAT)",
    ),
    "png-150k-idat-chunks": (
        lambda: hostile.png_with_tiny_idats(150_000),
        "the PNG file has more than 100,000 chunks",
    ),
    "gif-300k-comment-blocks": (
        lambda: hostile.gif_with_comments(300_000),
        "the GIF file has more than 1,000 extension blocks",
    ),
    "gif-20k-comment-subblocks": (
        _gif_one_long_comment,
        "the GIF file has more than 10,000 data sub-blocks in its extensions",
    ),
}


@pytest.mark.parametrize("case", sorted(TOO_COMPLEX))
def test_structurally_hostile_files_are_refused_cheaply(case: str) -> None:
    build, expected = TOO_COMPLEX[case]
    error = _refusal(build())
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert str(error) == (
        f"{expected}; no real image needs that many, and decoding it would cost seconds of "
        "CPU: refused before decoding (re-save the image with an ordinary encoder)"
    )


def test_hostile_scans_are_refused_under_every_policy() -> None:
    strict = ImagePolicy(max_side=64, max_pixels=4096, max_decode_pixels=1_100_000)
    data = hostile.progressive_jpeg_with_repeated_scans((1024, 1024), 2000)
    for policy in (strict, ImagePolicy(), ImagePolicy(max_decode_pixels=10**9)):
        assert _refusal(data, policy).reason is ImageErrorReason.TOO_COMPLEX


def test_scan_work_is_bounded_by_scans_times_megapixels(monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 scans over 1 MP is ordinary; with the product capped at 1 it is refused, by the product.
    monkeypatch.setattr(_image_structure, "MAX_JPEG_SCAN_MEGAPIXELS", 1)
    data = encode(Image.new("RGB", (1024, 1024), "teal"), "JPEG", progressive=True)
    error = _refusal(data)
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert str(error) == (
        "the JPEG has 1 or more scans over 1.0 megapixels, more than 1 scan-megapixels: "
        "decoding it would cost seconds of CPU; refused before decoding (re-save it as a "
        "baseline JPEG)"
    )


def test_baseline_jpeg_scans_are_counted_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    # A baseline JPEG on the decode route (too large for the policy) has its scans counted too.
    monkeypatch.setattr(_image_structure, "MAX_JPEG_SCANS", 0)
    data = encode(noisy((128, 96)), "JPEG")
    assert prepare_image(data).transformations == ()  # the fast path never decodes: not counted
    error = _refusal(data, ImagePolicy(max_side=64))
    assert str(error).startswith("the JPEG file has more than 0 scans")


@pytest.mark.parametrize("side", [12_000, 30_000])
def test_ico_hiding_a_huge_png_is_refused_before_pillow_decodes_it(
    side: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_decode(monkeypatch)
    error = _refusal(hostile.ico_with_large_png(side))
    assert error.reason is ImageErrorReason.DECOMPRESSION_BOMB
    assert str(error) == (
        f"image 1 inside the ICO is a PNG claiming {side * side} pixels, more than the policy's "
        "decode limit of 120000000 (ImagePolicy.max_decode_pixels); refused without decoding"
    )


def test_ico_hiding_a_huge_bmp_is_refused_from_its_info_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = struct.pack("<IiiHHIIiiII", 40, 20_000, 2 * 20_000, 1, 32, 0, 0, 0, 0, 0, 0)
    legit = encode(noisy((16, 16)), "PNG")
    forbid_decode(monkeypatch)
    error = _refusal(hostile.ico_of(legit, info + b"\x00" * 64))
    assert error.reason is ImageErrorReason.DECOMPRESSION_BOMB
    assert str(error).startswith("image 2 inside the ICO is a BMP claiming 400000000 pixels")


def test_ico_with_too_many_entries_is_refused() -> None:
    data = hostile.ico_of(*[encode(noisy((16, 16)), "PNG")] * 300)
    error = _refusal(data)
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert str(error).startswith("the ICO file has more than 256 images")


def test_an_ordinary_ico_still_converts() -> None:
    data = hostile.ico_of(encode(noisy((48, 48)), "PNG"))
    prepared = prepare_image(data)
    assert (prepared.mime_type, prepared.width, prepared.height) == ("image/png", 48, 48)


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("progressive-jpeg", lambda: encode(noisy((1500, 1000)), "JPEG", progressive=True)),
        ("png-900-text-chunks", lambda: hostile.png_with_empty_chunks(900)),
        ("png-50k-idat-chunks", lambda: hostile.png_with_tiny_idats(50_000)),
        ("jpeg-900-comments", lambda: hostile.jpeg_with_comments(900)),
        ("gif-900-comments", lambda: hostile.gif_with_comments(900)),
    ],
)
def test_legit_files_near_the_caps_still_go_through(name: str, build: Callable[[], bytes]) -> None:
    data = build()
    with cpu_at_most(CPU_BUDGET):
        prepared = prepare_image(data)
    assert prepared.width is not None, name


def test_animated_gif_with_many_frames_sends_the_first() -> None:
    frames = [noisy((32, 32), seed=i).convert("P") for i in range(120)]
    buf = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with cpu_at_most(CPU_BUDGET):
        prepared = prepare_image(buf)
    assert prepared.transformations[0] == "first_frame"


# --- the inline-bytes cap ---------------------------------------------------------------------


def test_max_input_bytes_is_validated() -> None:
    assert ImagePolicy().max_input_bytes == images.MAX_FILE_BYTES == 64 * 1024 * 1024
    with pytest.raises(ValueError, match=r"ImagePolicy.max_input_bytes must be >= 1, got 0"):
        ImagePolicy(max_input_bytes=0)
    with pytest.raises(TypeError, match=r"ImagePolicy.max_input_bytes must be an int"):
        ImagePolicy(max_input_bytes=1.5)  # type: ignore[arg-type]


def test_inline_base64_over_the_cap_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decode(text: str) -> bytes:
        raise AssertionError("base64 was decoded")

    monkeypatch.setattr(images, "b64decode_strict", no_decode)
    payload = base64.b64encode(encode(noisy((64, 64)), "PNG")).decode()
    policy = ImagePolicy(max_input_bytes=1000)
    for data in (payload, f"data:image/png;base64,{payload}"):
        with pytest.raises(ImageInputError) as info:
            prepare_inline_image(data, policy=policy)
        assert info.value.reason is ImageErrorReason.TOO_LARGE
        assert str(info.value).startswith("the image data has at least ")
        assert str(info.value).endswith(
            "bytes, more than the policy's input limit of 1000 bytes "
            "(ImagePolicy.max_input_bytes); send a smaller file or raise the limit"
        )


@pytest.mark.parametrize("door", ["bytes", "file", "file_object"])
def test_every_door_applies_the_input_cap(door: str, tmp_path: object) -> None:
    data = encode(noisy((64, 64)), "PNG")
    policy = ImagePolicy(max_input_bytes=len(data) - 1)
    source: object = data
    if door == "file":
        path = tmp_path / "a.png"  # type: ignore[operator]
        path.write_bytes(data)
        source = path
    elif door == "file_object":
        import io  # noqa: PLC0415

        source = io.BytesIO(data)
    with pytest.raises(ImageInputError) as info:
        prepare_image(source, policy)
    assert info.value.reason is ImageErrorReason.TOO_LARGE
    assert f"the image data has {len(data)} bytes, more than the policy's input limit" in str(
        info.value
    )
    assert prepare_image(data, ImagePolicy(max_input_bytes=len(data))).size_bytes == len(data)


def test_pillow_truncated_image_loading_stays_off() -> None:
    prepare_image(encode(noisy((32, 32)), "PNG"))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_docs_state_the_limits_the_code_applies() -> None:
    from pathlib import Path  # noqa: PLC0415

    page = (Path(__file__).parents[3] / "docs" / "images.md").read_text(encoding="utf-8")
    s = _image_structure
    rows = {
        "| `ImagePolicy.max_input_bytes` | 64 MiB |": ImagePolicy().max_input_bytes == 64 << 20,
        f"| JPEG scans | {s.MAX_JPEG_SCANS} |": True,
        f"| JPEG scans × megapixels | {s.MAX_JPEG_SCAN_MEGAPIXELS:,} |": True,
        f"| JPEG marker segments | {s.MAX_JPEG_SEGMENTS:,} |": True,
        f"stray bytes between blocks | {s.MAX_PADDING_BYTES // 1024} KiB |": True,
        f"| PNG chunks | {s.MAX_PNG_CHUNKS:,} |": True,
        f"(not IDAT, fcTL, fdAT) | {s.MAX_PNG_METADATA_CHUNKS:,} |": True,
        f"(before the second frame) | {s.MAX_GIF_EXTENSIONS:,} |": True,
        f"| {s.MAX_GIF_EXTENSION_SUBBLOCKS:,} / {s.MAX_GIF_SUBBLOCKS:,} |": True,
        f"| WebP chunks | {s.MAX_WEBP_CHUNKS:,} |": True,
        f"| {s.MAX_ICO_ENTRIES} images; each against `max_decode_pixels` |": True,
    }
    missing = [row for row, holds in rows.items() if row not in page or not holds]
    assert missing == []
