"""Where an image's orientation is written, read without decoding any pixel.

Knows the places Pillow's ``ImageOps.exif_transpose`` honours: the EXIF block (a JPEG's APP1, a
PNG's ``eXIf`` chunk, WebP's ``EXIF`` chunk), ImageMagick's ``Raw profile type exif`` text chunk,
and the XMP ``tiff:Orientation`` property; plus one place Pillow only finds after decoding: a PNG
``eXIf`` chunk written after the image data (PNG 1.5 allowed it there). Knows nothing about
policies or encoding.

Why not ``im.getexif()``: on a PNG it decodes the whole image to look for chunks after the pixels,
which costs a full decode for every PNG even when the fast path would send it untouched.
"""

from __future__ import annotations

import re

from PIL import Image

_ORIENTATION_TAG = 0x0112
_XMP_KEYS = ("xmp", "XML:com.adobe.xmp")
_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(?:="|>)([1-8])')
_RAW_PROFILE = "Raw profile type exif"
_RAW_PROFILE_HEADER_LINES = 3  # "", "exif", the length; then the hex digits


def _from_exif(raw: bytes) -> int | None:
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not sink a readable image
        return None
    value = exif.get(_ORIENTATION_TAG)
    return value if isinstance(value, int) and 1 <= value <= 8 else None  # noqa: PLR2004


def _from_raw_profile(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    digits = "".join(text.split("\n")[_RAW_PROFILE_HEADER_LINES:])
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return _from_exif(raw)


def _from_xmp(im: Image.Image) -> int | None:
    for key in _XMP_KEYS:
        xmp = im.info.get(key)
        if isinstance(xmp, str):
            xmp = xmp.encode("utf-8", "replace")
        if isinstance(xmp, (bytes, bytearray)):
            match = _XMP_ORIENTATION.search(xmp)
            if match is not None:
                return int(match.group(1))
    return None


def orientation_of(im: Image.Image, late_exif: bytes | None = None) -> int:
    """The orientation (1-8; 1 when none is written) of an opened, undecoded image.

    ``late_exif``: the data of a PNG ``eXIf`` chunk after the image data, which Pillow's header
    read does not reach; the structural walk (``images._structure``) finds it on its way through
    the chunk headers, so no search of the file's bytes is needed here.
    """
    if im.format == "TIFF":
        return 1  # Pillow's TIFF reader turns the pixels upright itself while decoding
    found = None
    raw = im.info.get("exif")
    if isinstance(raw, (bytes, bytearray)) and raw:
        found = _from_exif(bytes(raw))
    elif _RAW_PROFILE in im.info:
        found = _from_raw_profile(im.info[_RAW_PROFILE])
    elif im.format == "PNG" and late_exif:
        found = _from_exif(late_exif)
    if found is None:  # as Pillow: XMP only when EXIF has no orientation
        found = _from_xmp(im)
    return found or 1
