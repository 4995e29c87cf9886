"""images.py on the pixels: fast path, conversions, modes, orientation, animation, resizing."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image, prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests.image_factory import (  # noqa: F401 - fixtures
    BLUE,
    GREEN,
    RED,
    corner_image,
    decoded,
    encode,
    exif_bytes,
    forbid_decode,
    fresh_cache,
    is_red,
    noisy,
)

# --- the fast path: compliant images are sent byte for byte, never decoded ---------------------


@pytest.mark.parametrize(
    ("fmt", "mode", "mime"),
    [
        ("JPEG", "RGB", "image/jpeg"),
        ("JPEG", "L", "image/jpeg"),
        ("PNG", "RGB", "image/png"),
        ("PNG", "RGBA", "image/png"),
        ("PNG", "LA", "image/png"),
        ("PNG", "P", "image/png"),
        ("WEBP", "RGB", "image/webp"),
        ("GIF", "P", "image/gif"),
    ],
)
def test_compliant_image_is_sent_unchanged_without_decoding(
    fmt: str, mode: str, mime: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encode(noisy((120, 90)).convert(mode), fmt)
    forbid_decode(monkeypatch)
    prepared = prepare_image(data)
    assert prepared.data() == data
    assert prepared.mime_type == mime
    assert prepared.original_mime_type == mime
    assert (prepared.width, prepared.height) == (120, 90)
    assert (prepared.original_width, prepared.original_height) == (120, 90)
    assert prepared.size_bytes == len(data)
    assert prepared.transformations == ()
    assert prepared.url.startswith(f"data:{mime};base64,")


def test_palette_png_with_transparency_is_compliant() -> None:
    im = Image.new("P", (50, 40), 0)
    im.putpalette([*RED, *BLUE])
    im.paste(1, (0, 0, 10, 10))
    data = encode(im, "PNG", transparency=1)
    assert prepare_image(data).data() == data


def test_declared_mime_mismatch_is_corrected_from_the_bytes() -> None:
    data = encode(corner_image(), "PNG")
    prepared = prepare_inline_image(data, mime_type="image/jpeg")
    assert prepared.mime_type == "image/png"
    assert prepared.transformations == ("mime_corrected",)
    assert prepared.data() == data


@pytest.mark.parametrize(("declared", "corrected"), [("IMAGE/JPEG", False), ("image/jpg", True)])
def test_mime_comparison_ignores_case_but_not_aliases(declared: str, corrected: bool) -> None:
    data = encode(corner_image(), "JPEG")
    prepared = prepare_inline_image(data, mime_type=declared)
    assert prepared.mime_type == "image/jpeg"
    assert ("mime_corrected" in prepared.transformations) is corrected


def test_file_with_wrong_extension_is_typed_by_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(corner_image(), "PNG"))
    prepared = prepare_image(path)
    assert prepared.mime_type == "image/png"
    assert prepared.source == str(path)


# --- conversions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "original_mime"),
    [
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("PPM", "image/x-portable-anymap"),
        ("TGA", "image/x-tga"),
        ("AVIF", "image/avif"),
    ],
)
def test_other_formats_become_jpeg_for_photos(fmt: str, original_mime: str) -> None:
    prepared = prepare_image(encode(corner_image((400, 300)), fmt))
    assert prepared.mime_type == "image/jpeg"
    assert prepared.original_mime_type == original_mime
    assert prepared.transformations == ("converted",)
    out = decoded(prepared)
    assert out.format == "JPEG"
    assert out.size == (400, 300)
    assert is_red(out.getpixel((5, 5)))


def test_small_non_jpeg_image_becomes_png() -> None:
    prepared = prepare_image(encode(corner_image(), "BMP"))
    assert prepared.mime_type == "image/png"
    assert prepared.transformations == ("converted",)
    out = decoded(prepared)
    assert out.getpixel((0, 0)) == RED


def test_ico_becomes_png() -> None:
    prepared = prepare_image(encode(corner_image((32, 32)), "ICO", sizes=[(32, 32)]))
    assert prepared.mime_type == "image/png"
    assert prepared.original_mime_type == "image/x-icon"
    assert decoded(prepared).getpixel((0, 0))[:3] == RED


def test_cmyk_jpeg_becomes_rgb_jpeg() -> None:
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))  # pure red in CMYK
    prepared = prepare_image(encode(cmyk, "JPEG"))
    assert prepared.mime_type == "image/jpeg"
    assert prepared.transformations == ("converted",)
    out = decoded(prepared)
    assert out.mode == "RGB"
    assert is_red(out.getpixel((150, 100)))


def test_16_bit_png_is_scaled_to_8_bit() -> None:
    im = Image.new("I;16", (300, 200), 32768)
    prepared = prepare_image(encode(im, "PNG"))
    assert prepared.transformations == ("converted",)
    out = decoded(prepared)
    assert out.mode == "L"
    assert 125 <= out.getpixel((150, 100)) <= 129  # 32768 / 257, not clipped to 255


@pytest.mark.parametrize(
    ("mode", "bulk", "extremes", "expected"),
    [("I", 500, (0, 1000), 127), ("F", 0.5, (0.0, 1.0), 127), ("F", 50.0, (0.0, 200.0), 50)],
)
def test_32_bit_and_float_tiff_become_gray(
    mode: str, bulk: float, extremes: tuple[float, float], expected: int
) -> None:
    im = Image.new(mode, (300, 200), bulk)
    im.putpixel((0, 0), extremes[0])
    im.putpixel((1, 0), extremes[1])
    prepared = prepare_image(encode(im, "TIFF"))
    out = decoded(prepared)
    assert out.mode == "L"
    assert abs(out.getpixel((150, 100)) - expected) <= 2
    assert prepared.transformations == ("converted",)


def test_la_tiff_keeps_alpha_in_png() -> None:
    im = Image.new("LA", (300, 200), (128, 255))
    im.paste((0, 0), (0, 0, 10, 10))
    prepared = prepare_image(encode(im, "TIFF"))
    assert prepared.mime_type == "image/png"
    out = decoded(prepared)
    assert out.mode == "LA"
    assert out.getpixel((0, 0))[1] == 0
    assert out.getpixel((150, 100)) == (128, 255)


def test_oversized_palette_with_transparency_keeps_alpha() -> None:
    im = Image.new("P", (3000, 100), 0)
    im.putpalette([*RED, *BLUE])
    im.paste(1, (0, 0, 1500, 100))
    prepared = prepare_image(encode(im, "PNG", transparency=1))
    assert prepared.mime_type == "image/png"
    assert prepared.transformations == ("resized",)
    out = decoded(prepared)
    assert out.mode == "RGBA"
    assert out.size == (2048, 68)
    assert out.getpixel((10, 30))[3] == 0
    assert out.getpixel((2000, 30)) == (*RED, 255)


def test_opaque_alpha_is_not_treated_as_transparency() -> None:
    prepared = prepare_image(encode(noisy((3000, 200)).convert("RGBA"), "PNG"))
    assert prepared.mime_type == "image/jpeg"
    assert prepared.transformations == ("resized", "converted")


def test_rgba_flattened_on_white_when_png_cannot_fit() -> None:
    im = noisy((300, 300)).convert("RGBA")
    im.putalpha(255)
    im.paste((0, 0, 0, 0), (0, 0, 100, 100))
    png = encode(im, "PNG")
    policy = ImagePolicy(max_bytes=len(png) // 2)
    prepared = prepare_image(encode(im, "TIFF"), policy)
    assert prepared.mime_type == "image/jpeg"
    assert prepared.transformations == ("converted", "flattened")
    assert prepared.size_bytes is not None
    assert prepared.size_bytes <= policy.max_bytes
    assert decoded(prepared).getpixel((50, 50)) >= (245, 245, 245)


# --- orientation ----------------------------------------------------------------------------

_UNDO = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_puts_the_red_corner_top_left(orientation: int) -> None:
    upright = corner_image((96, 48))
    stored = upright.transpose(_UNDO[orientation]) if orientation in _UNDO else upright
    data = encode(stored, "JPEG", exif=exif_bytes(orientation), quality=95)
    prepared = prepare_image(data)
    out = decoded(prepared)
    assert out.size == (96, 48)
    assert is_red(out.getpixel((4, 4)))
    assert not is_red(out.getpixel((91, 43)))
    assert out.getexif().get(0x0112) is None or orientation == 1
    if orientation == 1:
        assert prepared.transformations == ()
        assert prepared.data() == data
    else:
        assert prepared.transformations == ("transposed",)
        assert prepared.mime_type == "image/jpeg"


def test_exif_transpose_off_keeps_pixels_and_tag() -> None:
    data = encode(corner_image(), "JPEG", exif=exif_bytes(6))
    prepared = prepare_image(data, ImagePolicy(exif_transpose=False))
    assert prepared.data() == data


def test_big_rotated_jpeg_is_downscaled_then_rotated() -> None:
    im = corner_image((4000, 3000)).transpose(Image.Transpose.ROTATE_90)  # stored 3000x4000
    prepared = prepare_image(encode(im, "JPEG", exif=exif_bytes(6)))
    assert prepared.transformations == ("resized", "transposed")
    assert (prepared.original_width, prepared.original_height) == (3000, 4000)
    # The 1/2 DCT scale (2000x1500) fits within 2048 px: no resample needed.
    assert (prepared.width, prepared.height) == (2000, 1500)
    assert is_red(decoded(prepared).getpixel((20, 20)))


# --- resizing -------------------------------------------------------------------------------


def test_long_side_is_brought_within_max_side_keeping_aspect() -> None:
    prepared = prepare_image(encode(corner_image((5000, 1000)), "PNG"))
    assert (prepared.width, prepared.height) == (2048, 409)
    assert prepared.transformations == ("resized", "converted")


def test_max_pixels_is_respected() -> None:
    policy = ImagePolicy(max_side=10_000, max_pixels=1_000_000)
    prepared = prepare_image(encode(noisy((2000, 1000)), "JPEG"), policy)
    assert prepared.width is not None
    assert prepared.height is not None
    assert prepared.width * prepared.height <= 1_000_000
    assert (prepared.width, prepared.height) == (1414, 707)
    assert prepared.transformations == ("resized",)


def test_jpeg_draft_then_exact_lanczos_when_a_dct_scale_is_not_close() -> None:
    policy = ImagePolicy(max_side=1536)
    prepared = prepare_image(encode(noisy((4000, 3000)), "JPEG"), policy)
    assert (prepared.width, prepared.height) == (1536, 1152)


def test_small_images_are_never_upscaled() -> None:
    prepared = prepare_image(encode(corner_image((10, 5)), "BMP"))
    assert (prepared.width, prepared.height) == (10, 5)


def test_oversized_bytes_step_quality_down_until_they_fit() -> None:
    data = encode(noisy((800, 600)), "JPEG", quality=100)
    policy = ImagePolicy(max_bytes=len(data) // 4)
    prepared = prepare_image(data, policy)
    assert prepared.size_bytes is not None
    assert prepared.size_bytes <= policy.max_bytes
    assert prepared.mime_type == "image/jpeg"
    assert prepared.transformations == ("converted",)


def test_impossible_byte_limit_is_too_large() -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(encode(noisy((200, 200)), "JPEG"), ImagePolicy(max_bytes=100))
    assert info.value.reason is ImageErrorReason.TOO_LARGE
    assert "ImagePolicy.max_bytes" in str(info.value)


# --- animation ------------------------------------------------------------------------------


def _animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (300, 200), GREEN), Image.new("RGB", (300, 200), BLUE)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.mark.parametrize(
    ("fmt", "mime"), [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")]
)
def test_animated_images_send_their_first_frame(fmt: str, mime: str) -> None:
    prepared = prepare_image(_animated(fmt))
    assert prepared.original_mime_type == mime
    assert prepared.transformations[0] == "first_frame"
    out = decoded(prepared)
    assert out.format in ("PNG", "JPEG")
    assert getattr(out, "is_animated", False) is False
    r, g, b = out.convert("RGB").getpixel((150, 100))
    assert g > 200
    assert r < 40
    assert b < 40


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_refused_when_the_policy_says_so(fmt: str) -> None:
    with pytest.raises(ImageInputError) as info:
        prepare_image(_animated(fmt), ImagePolicy(animated="error"))
    assert info.value.reason is ImageErrorReason.ANIMATED
    assert "animated='first_frame'" in str(info.value)


# --- HEIC -----------------------------------------------------------------------------------


def _heic() -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), RED).save(buf, "HEIF")
    return buf.getvalue()


def test_heic_is_converted() -> None:
    prepared = prepare_image(_heic())
    assert prepared.original_mime_type == "image/heif"
    assert prepared.mime_type == "image/png"
    assert prepared.transformations == ("converted",)
    assert is_red(decoded(prepared).getpixel((32, 24)))


def test_heic_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _heic()
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    with pytest.raises(ImageInputError) as info:
        prepare_image(data)
    assert info.value.reason is ImageErrorReason.MISSING_EXTRA
    assert str(info.value) == (
        'HEIC/HEIF images need the "heif" extra: pip install "langchain-flexai[heif]"'
    )
