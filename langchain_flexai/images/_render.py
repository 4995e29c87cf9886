"""Decode, downscale, turn upright, normalise the pixel mode and encode: the slow path's pixels.

Knows Pillow's pixel operations and the output-format rule: PNG when the image has real
transparency (alpha kept), is a palette or bilevel image, or is small (long side <= 256 px: icons,
diagrams) and not from a JPEG; JPEG otherwise (baseline, ``policy.jpeg_quality``, no
``optimize``/``progressive``: 2-5x cheaper for ~5% bytes). An alpha channel that is fully opaque
counts as no alpha. If the result exceeds ``max_bytes``, a PNG becomes a JPEG (transparency
flattened on white, recorded as ``"flattened"``), then the JPEG quality steps down, then the size
steps down, and finally :attr:`ImageErrorReason.TOO_LARGE`. A JPEG is decoded at a DCT scale
(``Image.draft``) when it is to be downscaled; the rotation comes after the downscale (fewer
pixels to move). The pixel work keeps the GIL free for other threads: the decoder gets the
whole file in one call, and a JPEG is encoded into an anonymous in-memory file (Linux), the
one route on which Pillow's encoder releases the GIL; elsewhere into memory, same bytes.

Knows nothing about where the image came from, whether it should be decoded at all (the header
checks of :mod:`langchain_flexai.images._probe` come first), base64 or LangChain. Only the Pillow
calls are wrapped in :func:`~langchain_flexai.images._pillow_errors.pillow_errors`.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass

from PIL import Image, ImageFile

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._banded_resize import lanczos_resize
from langchain_flexai.images._pillow_errors import pillow_errors
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._probe import fit_size, fits

__all__ = ["Rendered", "render"]

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SMALL_SIDE = 256
_PNG_COMPRESS_LEVEL = 3  # zlib-ng level 3: near level-6 size at a fraction of the time
# Pillow's resize first box-reduces by floor(scale / gap) and LANCZOS-resamples the rest. At 1.0
# that is the largest integer factor: a 6000x4000 screenshot to 2048 px is reduced by 2 first,
# 3.7x less CPU than a full LANCZOS (gap 3.0 reduces nothing below a 6x downscale), and within
# 39 dB PSNR of it; the box filter already averages every source pixel, so nothing aliases.
# Pillow's box reduce takes 8-bit modes only; 16-bit ones keep the gap that never reduced them
# below a 6x downscale (they are rare, and converted after this first resize anyway).
_REDUCING_GAP = {"L": 1.0, "LA": 1.0, "RGB": 1.0, "RGBA": 1.0}
_OTHER_MODES_GAP = 3.0
_DRAFT_SLACK = 0.9  # accept a DCT scale within 10% under the target instead of resampling
_QUALITY_LADDER = (75, 60, 45)
_SHRINK_STEP = 0.75
_MIN_SIDE = 16
_RESIZE_BEFORE_CONVERT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_PLAIN_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA"})
# Pillow's decoder is fed 64 KiB at a time by a Python loop (ImageFile.load): ~50 round trips
# through the GIL for a 3 MB JPEG, each a chance for another thread's GIL-holding work to stall
# this one. Fed at most this much per call, a photo decodes in one or a few C calls.
_DECODE_BLOCK = 16 << 20
_memfd_create = getattr(os, "memfd_create", None)  # Linux only
_RGB_FAMILY = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA"})
_GRAY_FAMILY = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def _error(reason: ImageErrorReason, detail: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason)


@dataclass(frozen=True)
class Rendered:
    """The encoded bytes and the size of the image they hold."""

    data: bytes
    width: int
    height: int


def render(
    im: Image.Image,
    *,
    src_format: str | None,
    orientation: int,
    policy: ImagePolicy,
    allow_draft: bool,
    owned: bool,
    explained: bool,
    keep_exif: object = None,
) -> tuple[Rendered, str, tuple[str, ...]]:
    """Decode, downscale, rotate, normalise and encode; returns output, MIME and steps taken.

    Args:
        im: The image, header read; decoded here.
        src_format: Pillow's format name of the source, if any.
        orientation: EXIF orientation to undo (1 = none).
        policy: The limits to meet.
        allow_draft: Use JPEG DCT scaling (only for a not-yet-loaded JPEG we own).
        owned: Whether ``im`` is ours to modify (False for a caller's PIL image).
        explained: Whether the re-encode is already explained (e.g. by ``first_frame``).
        keep_exif: Raw EXIF to write back (when the policy does not transpose).
    """
    src_mode = im.mode
    icc = im.info.get("icc_profile")  # read at open: a dict lookup, no Pillow call
    work, steps = _shape(im, orientation, policy, allow_draft=allow_draft)
    # A JPEG source is a photo by its author's choice, whatever its size.
    small = max(work.size) <= _SMALL_SIDE and src_format not in ("JPEG", "MPO")
    graphic = src_mode in ("1", "P", "PA") or small
    fmt = "PNG" if work.mode in ("LA", "RGBA") or graphic else "JPEG"
    extra: dict[str, bytes] = {}
    if isinstance(icc, bytes) and icc and _same_family(src_mode, work.mode):
        extra["icc_profile"] = icc
    if isinstance(keep_exif, bytes) and keep_exif:
        extra["exif"] = keep_exif
    if work is im and not owned:
        with pillow_errors():
            work = im.copy()  # never write into the caller's image object
    work.info = {}
    work, fmt, data, more = _fit_bytes(work, fmt, policy, extra)
    if "resized" in more and "resized" not in steps:
        steps.append("resized")
    # Mode changes that alter the pixels' meaning count as conversion; palette expansion does not.
    same_format = (
        src_format is None  # an in-memory image has no format to convert from
        or src_format == fmt
        or (src_format == "MPO" and fmt == "JPEG")
    )
    if src_mode not in _PLAIN_MODES or not same_format or not (steps or more or explained):
        steps.append("converted")
    if "flattened" in more:
        steps.append("flattened")
    mime = "image/jpeg" if fmt == "JPEG" else "image/png"
    return Rendered(data, work.width, work.height), mime, tuple(steps)


def _shape(
    im: Image.Image, orientation: int, policy: ImagePolicy, *, allow_draft: bool
) -> tuple[Image.Image, list[str]]:
    """Decode (JPEG at a DCT scale), downscale, transpose; drop an alpha that is fully opaque."""
    steps: list[str] = []
    original = im.size
    target = fit_size(*original, policy)
    if target != original and allow_draft:
        _draft_for(im, target)
    if allow_draft and isinstance(im, ImageFile.ImageFile):
        # Our own image over an in-memory file: a read asks for at most what is left.
        im.decodermaxblock = _DECODE_BLOCK
    with pillow_errors():
        im.load()
    work = im
    if im.mode in _RESIZE_BEFORE_CONVERT and not fits(im.size, policy):
        # 16-bit samples are scaled to 8 bits through 32-bit "I" (4 bytes a pixel, twice): on
        # the downscaled image that costs a few MB instead of a gigabyte at 120 MP.
        work = _resize(im, target)
    work = _to_standard_mode(work)
    if not fits(work.size, policy):
        work = _resize(work, target)
    if work.size != original:
        steps.append("resized")
    if orientation in _TRANSPOSE:
        # After the downscale: moving fewer pixels, and no full-size rotated copy in memory.
        with pillow_errors():
            work = work.transpose(_TRANSPOSE[orientation])
        steps.append("transposed")
    return _drop_opaque_alpha(work), steps


def _draft_for(im: Image.Image, target: tuple[int, int]) -> None:
    """Ask libjpeg to decode at the largest DCT scale (1/2, 1/4, 1/8) not far under the target."""
    w, h = im.size
    for s in (8, 4, 2):
        sw, sh = -(-w // s), -(-h // s)
        if sw >= target[0] * _DRAFT_SLACK and sh >= target[1] * _DRAFT_SLACK:
            with pillow_errors():
                im.draft(None, (w // s, h // s))
            return


def _to_standard_mode(im: Image.Image) -> Image.Image:
    """Bring any mode to L, LA, RGB or RGBA (alpha kept, 16/32-bit and float scaled to 8-bit)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if mode in ("I", "F"):
        return _stretch_to_l(im)
    if mode.startswith("I;16"):
        # convert("L") would clip 16-bit values at 255; scale the full range instead.
        with pillow_errors():
            return im.convert("I").point(lambda v: v / 257).convert("L")
    if mode in ("P", "PA"):
        target = "RGBA" if mode == "PA" or "transparency" in im.info else "RGB"
    elif mode == "1":
        target = "L"
    elif mode == "La":
        target = "LA"
    elif "A" in mode or mode == "RGBa":
        target = "RGBA"
    else:
        target = "RGB"  # CMYK, YCbCr, LAB, HSV, RGBX
    with pillow_errors():
        return im.convert(target)


def _stretch_to_l(im: Image.Image) -> Image.Image:
    with pillow_errors():
        lo, hi = im.getextrema()
    with pillow_errors():
        if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
            return im.convert("L")
        if im.mode == "F" and lo >= 0 and hi <= 1:
            return im.point(lambda v: v * 255).convert("L")  # the usual float convention: 0-1
        if lo >= 0 and hi <= 255:  # noqa: PLR2004
            return im.convert("L")
        span = (hi - lo) or 1
        return im.point(lambda v: (v - lo) * 255 / span).convert("L")


def _drop_opaque_alpha(im: Image.Image) -> Image.Image:
    if im.mode not in ("LA", "RGBA"):
        return im
    with pillow_errors():
        lo, _ = im.getchannel("A").getextrema()
    if lo == 255:  # noqa: PLR2004
        with pillow_errors():
            return im.convert("L" if im.mode == "LA" else "RGB")
    return im


def _flatten(im: Image.Image) -> Image.Image:
    with pillow_errors():
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im.convert("RGBA"), mask=im.getchannel("A"))
    return background


def _fit_bytes(
    work: Image.Image, fmt: str, policy: ImagePolicy, extra: dict[str, bytes]
) -> tuple[Image.Image, str, bytes, set[str]]:
    """Encode; while over max_bytes: PNG to JPEG, then lower quality, then smaller size."""
    happened: set[str] = set()
    quality = policy.jpeg_quality
    ladder = [q for q in _QUALITY_LADDER if q < quality]
    data = _encode(work, fmt, quality, extra)
    while len(data) > policy.max_bytes:
        if fmt == "PNG":
            fmt = "JPEG"
            if work.mode in ("LA", "RGBA"):
                work = _flatten(work)
                happened.add("flattened")
        elif ladder:
            quality = ladder.pop(0)
        else:
            new_size = (
                math.floor(work.width * _SHRINK_STEP),
                math.floor(work.height * _SHRINK_STEP),
            )
            if min(new_size) < _MIN_SIDE:
                raise _error(
                    ImageErrorReason.TOO_LARGE,
                    f"the image cannot be brought under the policy's {policy.max_bytes} bytes "
                    "(ImagePolicy.max_bytes) even at low quality and small size",
                )
            work = _resize(work, new_size)
            happened.add("resized")
        data = _encode(work, fmt, quality, extra)
    return work, fmt, data, happened


def _encode(im: Image.Image, fmt: str, quality: int, extra: dict[str, bytes]) -> bytes:
    options: dict[str, object] = (
        {"quality": quality} if fmt == "JPEG" else {"compress_level": _PNG_COMPRESS_LEVEL}
    )
    if fmt == "JPEG":
        data = _jpeg_without_gil(im, {**options, **extra})
        if data is not None:
            return data
    buf = io.BytesIO()
    with pillow_errors():
        im.save(buf, fmt, **options, **extra)
    return buf.getvalue()


def _jpeg_without_gil(im: Image.Image, options: dict[str, object]) -> bytes | None:
    """The JPEG written to an anonymous in-memory file (Linux ``memfd``); None where there is none.

    Pillow's encoder holds the GIL for the whole encode when it writes into Python memory, and
    releases it when it writes to a file descriptor (``ImageFile._save``'s ``encode_to_file``):
    the same bytes, but two worker threads preparing images then encode in parallel instead of
    one waiting for the other (a tenth of a 12 MP photo's preparation). The memfd is no path on
    any file system and is closed before returning.
    """
    if _memfd_create is None:
        return None
    try:
        fd = _memfd_create("flexai-jpeg", os.MFD_CLOEXEC)
    except OSError:
        return None  # out of descriptors, or a sandbox forbids it: encode in memory instead
    with io.FileIO(fd, "r+") as file:  # unbuffered; closes the descriptor
        with pillow_errors():
            im.save(file, "JPEG", **options)
        file.seek(0)
        return file.readall()


def _resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    return lanczos_resize(im, size, _REDUCING_GAP.get(im.mode, _OTHER_MODES_GAP))


def _same_family(src_mode: str, out_mode: str) -> bool:
    return (src_mode in _RGB_FAMILY and out_mode in ("RGB", "RGBA")) or (
        src_mode in _GRAY_FAMILY and out_mode in ("L", "LA")
    )
