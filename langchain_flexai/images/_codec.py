"""Image bytes to the bytes FlexAI is sent, under an :class:`ImagePolicy`: which route each takes.

Knows the order of the routes and what each records; the work of each lives beside it. Knows
nothing about base64, URLs, caching or LangChain (before Pillow starts it only announces work too
heavy for the event loop's attempt: ``images._cache.uncached_work``).

1. **Structure** (:mod:`langchain_flexai.images._structure`): the container (segments, chunks,
   blocks) is walked and counts no real image has are refused, so that no route costs seconds,
   and a file that ends whole without image data.
2. A multi-picture JPEG (MPO, gain-map HDR) is cut to its primary picture
   (:mod:`langchain_flexai.images._mpo`).
3. **Header probe** (:mod:`langchain_flexai.images._probe`, no pixel decode): identify, check the
   decode limits, decide the fast path (:func:`~langchain_flexai.images._probe.sendable_as_is`):
   a compliant JPEG, PNG, WebP or still GIF is sent byte for byte. A baseline JPEG's header is
   read without Pillow at all (:mod:`langchain_flexai.images._jpeg_header`), and so are a PNG's,
   a still WebP's and a GIF's (:mod:`langchain_flexai.images._still_header`). A still GIF of
   the common layout skips steps 1-3 for one pass that says what they would
   (:mod:`langchain_flexai.images._still_gif`), or steps aside.
4. **Slow path** (:mod:`langchain_flexai.images._render`): decode, downscale, rotate upright,
   normalise the pixel mode, encode.

Truncation: the fast path never decodes, so it relies on the structural walk's ``complete``
(JPEG: a frame, a scan with data and EOI at the end; PNG: IHDR, IDAT, IEND; GIF: an image and the
trailer; WebP: the RIFF size present and an image chunk). An image failing that check goes to the
slow path, whose full decode (with ``ImageFile.LOAD_TRUNCATED_IMAGES`` left at Pillow's default
``False``) refuses a truncated file as :attr:`ImageErrorReason.CORRUPT`. Damage in the middle of a
complete-looking file is not detected on the fast path. An APNG's animation chunks are never
passed through, whatever its frame count says.

Pillow's failures become :class:`ImageInputError` around the Pillow calls only
(:mod:`langchain_flexai.images._pillow_errors`); a bug of ours propagates as itself.
"""

from __future__ import annotations

import io
from typing import NamedTuple

from PIL import JpegImagePlugin

from langchain_flexai.images._cache import uncached_work
from langchain_flexai.images._mpo import PrimaryPicture, primary_picture
from langchain_flexai.images._pillow_errors import pillow_errors
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._probe import (
    WIRE_MIME,
    check_animation,
    check_pixels,
    check_python_decoder,
    fits,
    has_apng_control,
    identify,
    input_too_large,
    mime_of,
    orientation_from_info,
    sendable_as_is,
    tiff_turned_upright,
)
from langchain_flexai.images._render import render
from langchain_flexai.images._still_gif import GIF_SIGNATURES, still_gif_size
from langchain_flexai.images._still_header import probe_still
from langchain_flexai.images._structure import Structure, check_scans, walk_header

__all__ = ["Encoded", "encode_bytes"]


class Encoded(NamedTuple):
    """What the codec produced: the bytes to send and what happened to them.

    A named tuple rather than a frozen dataclass: built on every fast-path call, 4x cheaper.
    """

    data: bytes
    mime_type: str
    width: int
    height: int
    original_mime_type: str | None
    original_width: int
    original_height: int
    transformations: tuple[str, ...]
    passthrough: bool
    """True when ``data`` is the input bytes unchanged (the fast path)."""


def _compliant_jpeg(
    data: bytes, policy: ImagePolicy, declared_mime: str | None, structure: Structure | None
) -> Encoded | None:
    """The fast path for the commonest input, without Pillow: None unless it applies."""
    header = None if structure is None else structure.jpeg  # the walk read it on its way
    if header is None or header.components not in (1, 3):
        return None
    size = (header.width, header.height)
    orientation = header.orientation if policy.exif_transpose else 1
    if (
        orientation != 1
        or not fits(size, policy)
        or len(data) > policy.max_bytes
        or structure is None
        or not structure.complete_as("JPEG")
    ):
        return None
    # No check_pixels: fits() is stricter (max_pixels <= every decode limit, sides are > 0).
    return _as_is(data, "JPEG", header.width, header.height, declared_mime)


def _as_is(data: bytes, fmt: str, width: int, height: int, declared_mime: str | None) -> Encoded:
    """The input bytes, sent untouched (a header fast path): only a wrong MIME label corrected."""
    mime = WIRE_MIME[fmt]
    corrected = declared_mime is not None and declared_mime != mime
    # Positional: a named tuple's keyword call costs twice as much.
    steps = ("mime_corrected",) if corrected else ()
    return Encoded(data, mime, width, height, mime, width, height, steps, True)  # noqa: FBT003


_STILL_FORMATS = frozenset({"PNG", "WEBP", "GIF"})


def _compliant_still(
    data: bytes, policy: ImagePolicy, declared_mime: str | None, structure: Structure | None
) -> Encoded | None:
    """The fast path for a PNG, WebP or still GIF, without Pillow: None unless it applies."""
    if structure is None or not structure.complete or structure.format not in _STILL_FORMATS:
        return None
    fmt = structure.format
    if structure.late_exif is not None and policy.exif_transpose:
        return None  # an eXIf chunk after the pixels may say to rotate: read it the long way
    header = probe_still(data, structure, exif_matters=policy.exif_transpose)
    if header is None or not fits(header[:2], policy) or len(data) > policy.max_bytes:
        return None
    # No check_pixels: fits() is stricter (max_pixels <= every decode limit, sides are > 0).
    return _as_is(data, fmt, header.width, header.height, declared_mime)


def _primary_only(
    primary: PrimaryPicture, policy: ImagePolicy, declared_mime: str | None
) -> Encoded:
    """A multi-picture JPEG as its primary picture alone, recorded as ``primary_picture``."""
    if primary.data is not None:
        # Cut without decoding: a compliant primary still takes the fast path below.
        done = encode_bytes(primary.data, policy, declared_mime)
        head = ("mime_corrected",) if "mime_corrected" in done.transformations else ()
        rest = tuple(t for t in done.transformations if t != "mime_corrected")
        return done._replace(transformations=(*head, "primary_picture", *rest), passthrough=False)
    # A damaged index: Pillow's plain JPEG reader (not its MPO adapter, which trusts the index)
    # decodes the first picture only, since libjpeg stops at the first EOI; re-encoded.
    uncached_work()
    with pillow_errors():
        im = JpegImagePlugin.JpegImageFile(io.BytesIO(primary.whole))
    check_pixels(*im.size, policy)
    check_scans(primary.whole)  # libjpeg is about to decode every scan of the first picture
    orientation = orientation_from_info(im) if policy.exif_transpose else 1
    out, mime, steps = render(
        im,
        src_format="JPEG",
        orientation=orientation,
        policy=policy,
        allow_draft=True,
        owned=True,
        explained=True,
        keep_exif=None if policy.exif_transpose else im.info.get("exif"),
    )
    corrected = declared_mime is not None and declared_mime != "image/jpeg"
    return Encoded(
        data=out.data,
        mime_type=mime,
        width=out.width,
        height=out.height,
        original_mime_type="image/jpeg",
        original_width=im.width,
        original_height=im.height,
        transformations=(*(("mime_corrected",) if corrected else ()), "primary_picture", *steps),
        passthrough=False,
    )


def _late_exif(data: bytes, structure: Structure | None) -> bytes | None:
    # A PNG eXIf chunk after the pixels, found by the chunk walk: Pillow's header read stops before.
    if structure is None or structure.late_exif is None:
        return None
    return data[slice(*structure.late_exif)]


def _compliant(
    data: bytes, policy: ImagePolicy, declared_mime: str | None, structure: Structure | None
) -> Encoded | None:
    """The header fast path of the walk's format: each applies to its own format only."""
    if structure is None:
        return None
    compliant = _compliant_jpeg if structure.format == "JPEG" else _compliant_still
    return compliant(data, policy, declared_mime, structure)


def encode_bytes(data: bytes, policy: ImagePolicy, declared_mime: str | None) -> Encoded:  # noqa: C901 - the GIF shortcut inline: a call costs a small file's budget
    """Prepare image bytes: fast path when compliant, slow path otherwise."""
    if len(data) > policy.max_input_bytes:
        raise input_too_large(len(data), policy)
    if data[:6] in GIF_SIGNATURES:
        # A still GIF of the common layout: one pass for what the walk and the probe would say
        # (None when in any doubt: the general route below then decides, errors included).
        shown = still_gif_size(data)
        if shown is not None and fits(shown, policy) and len(data) <= policy.max_bytes:
            return _as_is(data, "GIF", shown[0], shown[1], declared_mime)
    # Structure first: the caps bound what Pillow's plugins would walk (see _image_structure).
    structure = walk_header(data, policy.max_decode_pixels)
    if structure is not None and structure.progressive:
        check_scans(data)  # even for the fast path: FlexAI's decoder would pay for the scans
    # The walk saw every header segment of a JPEG: no index there, no second walk for one.
    # Only a JPEG can hold one (primary_picture wants the SOI the walk saw).
    known_single = structure is None or structure.mpf is False or structure.format != "JPEG"
    primary = None if known_single else primary_picture(data)
    if primary is not None:
        return _primary_only(primary, policy, declared_mime)
    fast = _compliant(data, policy, declared_mime, structure)
    if fast is not None:
        return fast
    uncached_work()  # Pillow from here on: never on the event loop (images._cache)
    im = identify(data)
    fmt = im.format or ""
    width, height = im.size
    check_pixels(width, height, policy, fmt)
    check_python_decoder(im, len(data))
    original_mime = mime_of(fmt)
    head: list[str] = []
    if declared_mime is not None and declared_mime != original_mime:
        head.append("mime_corrected")
    animated = check_animation(im, fmt, policy)
    # APNG chunks under a frame count of 0 or 1 (or one that lies) are no valid still PNG for
    # every decoder: sent as the default image, re-encoded like an animation's first frame.
    animated = animated or (fmt == "PNG" and has_apng_control(data))
    late_exif = _late_exif(data, structure)
    orientation = orientation_from_info(im, late_exif) if policy.exif_transpose else 1
    if sendable_as_is(im, data, policy, structure, animated=animated, orientation=orientation):
        return Encoded(
            data=data,
            mime_type=WIRE_MIME[fmt],
            width=width,
            height=height,
            original_mime_type=original_mime,
            original_width=width,
            original_height=height,
            transformations=tuple(head),
            passthrough=True,
        )
    if animated:
        head.append("first_frame")
    if fmt in ("JPEG", "MPO") and not (structure is not None and structure.progressive):
        check_scans(data)  # libjpeg is about to decode every scan
    if tiff_turned_upright(im):
        head.append("transposed")
    out, mime, steps = render(
        im,
        src_format=fmt,
        orientation=orientation,
        policy=policy,
        allow_draft=fmt in ("JPEG", "MPO"),
        owned=True,
        explained=animated,
        keep_exif=None if policy.exif_transpose else im.info.get("exif"),
    )
    return Encoded(
        data=out.data,
        mime_type=mime,
        width=out.width,
        height=out.height,
        original_mime_type=original_mime,
        original_width=width,
        original_height=height,
        transformations=(*head, *steps),
        passthrough=False,
    )
