"""images.py on hostile input: bombs, damaged bytes, malformed base64 and data URLs, fuzzing."""

from __future__ import annotations

import base64
import io
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import _b64
from langchain_flexai.images._doors import prepare_image, prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from tests.unit_tests.image_factory import (  # noqa: F401 - fixtures
    corner_image,
    encode,
    forbid_decode,
    fresh_cache,
    gif_header_only,
    jpeg_header_only,
    noisy,
    png_header_only,
)


def _reason(data: object, **kwargs: object) -> ImageErrorReason:
    with pytest.raises(ImageInputError) as info:
        prepare_inline_image(data, **kwargs)  # type: ignore[arg-type]
    return info.value.reason


# --- decompression bombs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        png_header_only(100_000, 100_000),
        gif_header_only(65_535, 65_535),
        jpeg_header_only(60_000, 60_000),
    ],
    ids=["png", "gif", "jpeg"],
)
def test_bomb_is_refused_from_the_header_without_decoding(
    header: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_decode(monkeypatch)
    with pytest.raises(ImageInputError) as info:
        prepare_image(header)
    assert info.value.reason is ImageErrorReason.DECOMPRESSION_BOMB
    assert "refused without decoding" in str(info.value)
    assert "ImagePolicy.max_decode_pixels" in str(info.value)


def test_decode_limit_comes_from_the_policy() -> None:
    policy = ImagePolicy(max_side=10, max_pixels=100, max_decode_pixels=399)
    with pytest.raises(ImageInputError) as info:
        prepare_image(encode(corner_image((20, 20)), "JPEG"), policy)
    assert info.value.reason is ImageErrorReason.DECOMPRESSION_BOMB
    assert str(info.value) == (
        "the image claims 20x20 = 400 pixels, more than the policy's decode limit of 399 "
        "(ImagePolicy.max_decode_pixels); refused without decoding"
    )
    with pytest.raises(ImageInputError) as info:
        prepare_image(encode(corner_image((20, 20)), "PNG"), policy)
    assert str(info.value) == (
        "the image claims 20x20 = 400 pixels, more than the policy's decode limit of 199 "
        "(PNG is decoded at full size: it gets 1/2 of that limit) "
        "(ImagePolicy.max_decode_pixels); refused without decoding"
    )


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "JPEG"])
def test_pillow_global_limit_does_not_break_images_within_ours(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow would refuse > 2000 pixels
    data = encode(corner_image((300, 200)), fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepared = prepare_image(data)
    assert (prepared.width, prepared.height) == (300, 200)
    assert Image.MAX_IMAGE_PIXELS == 1000  # never touched


# --- damaged, empty, not an image -----------------------------------------------------------


def test_zero_bytes_are_empty() -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(b"")
    assert info.value.reason is ImageErrorReason.EMPTY
    assert str(info.value) == "the image data is empty (0 bytes)"


@pytest.mark.parametrize("data", [b"hello, world", b"%PDF-1.7\n", b"\x00" * 64])
def test_non_images_are_not_an_image(data: bytes) -> None:
    assert _reason(data) is ImageErrorReason.NOT_AN_IMAGE


@pytest.mark.parametrize("data", [b"<svg></svg>", b'<?xml version="1.0"?>\n<svg/>'])
def test_vector_images_are_named_not_called_non_images(data: bytes) -> None:
    assert _reason(data) is ImageErrorReason.UNSUPPORTED_FORMAT


@pytest.mark.parametrize(
    ("fmt", "length", "message"),
    [
        ("GIF", 1, "the file is truncated: its 1 byte end inside an image signature"),
        ("PNG", 4, "the file is truncated: its 4 bytes end inside an image signature"),
        ("GIF", 8, "the file is truncated: its 8 bytes end inside the GIF header"),
        ("BMP", 10, "the file is truncated: its 10 bytes end inside the BMP header"),
        ("JPEG", 6, "the file is truncated: its 6 bytes end inside the JPEG header"),
        ("GIF", 40, "the file is truncated: the data ends before the image does"),
    ],
)
def test_truncated_files_say_so(fmt: str, length: int, message: str) -> None:
    # Used to be Pillow's struct text: "unpack_from requires a buffer of at least 4 bytes ...".
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, fmt)
    with pytest.raises(ImageInputError) as info:
        prepare_image(buffer.getvalue()[:length])
    assert info.value.reason is ImageErrorReason.CORRUPT
    assert info.value.detail == message


def test_eps_is_not_opened_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow would hand EPS to Ghostscript; it is not in our formats, only named when refused.
    from PIL import EpsImagePlugin  # noqa: PLC0415

    def never(*_: object) -> None:
        raise AssertionError("EPS opened")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", never)
    with pytest.raises(ImageInputError) as info:
        prepare_image(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_FORMAT
    assert "a PostScript (EPS) image" in info.value.detail
    assert "this library never runs Ghostscript" in info.value.detail


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_truncated_compliant_image_is_not_sent(fmt: str) -> None:
    data = encode(noisy((200, 150)).convert("P" if fmt == "GIF" else "RGB"), fmt)
    with pytest.raises(ImageInputError) as info:
        prepare_image(data[: len(data) - 40])
    assert info.value.reason is ImageErrorReason.CORRUPT


@pytest.mark.parametrize("keep", [3, 10, 30])
def test_header_cut_short_is_corrupt(keep: int) -> None:
    data = encode(corner_image(), "PNG")
    assert _reason(data[:keep]) is ImageErrorReason.CORRUPT


def test_damaged_pixel_data_in_slow_path_is_corrupt() -> None:
    data = bytearray(encode(noisy((300, 200)), "BMP"))
    del data[200:]
    assert _reason(bytes(data)) is ImageErrorReason.CORRUPT


# --- base64 and data URLs -------------------------------------------------------------------

_PNG = encode(corner_image(), "PNG")
_B64 = base64.b64encode(_PNG).decode()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_B64[:20] + " " + _B64[20:], ImageErrorReason.INVALID_BASE64),
        (_B64[:20] + "\t" + _B64[20:], ImageErrorReason.INVALID_BASE64),
        (_B64[:20] + "*" + _B64[20:], ImageErrorReason.INVALID_BASE64),
        (_B64[:-1], ImageErrorReason.INVALID_BASE64),  # wrong length
        ("QQ=A" + _B64, ImageErrorReason.INVALID_BASE64),  # padding in the middle
        (_B64.replace("/", "_").replace("+", "-"), ImageErrorReason.INVALID_BASE64),
        ("https://example.com/cat.png", ImageErrorReason.INVALID_BASE64),
        ("", ImageErrorReason.EMPTY),
        ("   ", ImageErrorReason.EMPTY),
        ("data:image/png;base64,", ImageErrorReason.EMPTY),
        ("data:image/png;base64" + _B64, ImageErrorReason.INVALID_DATA_URL),  # no comma
        ("data:image/png," + _B64, ImageErrorReason.INVALID_DATA_URL),  # not base64
        ("data:text/plain;base64," + _B64, ImageErrorReason.INVALID_DATA_URL),
        ("data:application/pdf;base64," + _B64, ImageErrorReason.INVALID_DATA_URL),
        ("data:image/png;base64,@@@@", ImageErrorReason.INVALID_BASE64),
        (
            "data:image/png;base64," + base64.b64encode(b"not an image").decode(),
            ImageErrorReason.NOT_AN_IMAGE,
        ),
    ],
)
def test_malformed_inline_data_is_refused(text: str, reason: ImageErrorReason) -> None:
    assert _reason(text) is reason


def test_line_wrapped_base64_is_tolerated() -> None:
    wrapped = base64.encodebytes(_PNG).decode()
    assert "\n" in wrapped.strip()
    prepared = prepare_inline_image(wrapped)
    assert prepared.data() == _PNG
    assert prepared.url == f"data:image/png;base64,{_B64}"
    crlf = prepare_inline_image(wrapped.replace("\n", "\r\n"), policy=ImagePolicy(max_images=3))
    assert crlf.data() == _PNG


@pytest.mark.parametrize(
    "url",
    [
        f"data:image/png;base64,{_B64}",
        f"DATA:IMAGE/PNG;BASE64,{_B64}",
        f"data:;base64,{_B64}",
        f"data:application/octet-stream;base64,{_B64}",
        f"data:image/png;charset=utf-8;base64,{_B64}",
    ],
)
def test_data_url_variants_are_accepted(url: str) -> None:
    prepared = prepare_inline_image(url)
    assert prepared.url == f"data:image/png;base64,{_B64}"
    assert prepared.transformations == ()


def test_data_url_error_never_echoes_the_payload() -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_inline_image("data:text/plain;base64," + _B64, source="data:text/plain;base64,xxx")
    assert _B64[:40] not in str(info.value)
    assert info.value.source == "data:text/plain;base64,…"


def test_strict_decoder_directly() -> None:
    assert _b64.b64decode_strict(" " + _B64 + "\n") == _PNG
    with pytest.raises(_b64.Base64Error, match="non-ASCII"):
        _b64.b64decode_strict("é" * 4)


# --- inline door never touches the filesystem ----------------------------------------------


def test_inline_door_never_opens_a_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path  # noqa: PLC0415

    assert isinstance(tmp_path, Path)
    path = tmp_path / "x.png"
    path.write_bytes(_PNG)

    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError("file system touched")

    monkeypatch.setattr("builtins.open", no_io)
    monkeypatch.setattr(Path, "read_bytes", no_io)
    monkeypatch.setattr(Path, "is_file", no_io)
    monkeypatch.setattr(Path, "stat", no_io)
    assert _reason(str(path)) is ImageErrorReason.INVALID_BASE64


# --- fuzzing --------------------------------------------------------------------------------


def _outcome(call: object) -> None:
    assert callable(call)
    try:
        result = call()
    except ImageInputError:
        return
    assert isinstance(result, PreparedImage)


_SEEDS = [
    encode(corner_image(), "PNG"),
    encode(corner_image(), "JPEG"),
    encode(corner_image().convert("P"), "GIF"),
    encode(corner_image(), "WEBP"),
    encode(corner_image(), "BMP"),
    encode(corner_image(), "TIFF"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_give_an_image_or_an_image_error(data: bytes) -> None:
    _outcome(lambda: prepare_inline_image(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=8),
    st.integers(0, 4000),
)
def test_mutated_images_give_an_image_or_an_image_error(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    mutated = bytes(data[: max(0, len(data) - cut)])
    _outcome(lambda: prepare_image(mutated))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        ["data:", "DATA:", "data:image/png", "data:image/png;base64", "data:text/x;base64", ""]
    ),
    st.sampled_from([",", ";base64,", "", ";", ";base64;,"]),
    st.one_of(
        st.text(alphabet="ABCDEFGHabcdefgh0123456789+/= \n\t-_,;:é", max_size=64),
        st.sampled_from([_B64, _B64[:-2], _B64 + "==", " " + _B64]),
    ),
)
def test_random_data_urls_give_an_image_or_an_image_error(head: str, sep: str, body: str) -> None:
    _outcome(lambda: prepare_inline_image(head + sep + body))
