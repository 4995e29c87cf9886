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
import zlib

from PIL import Image

_ORIENTATION_TAG = 0x0112
_EXIF_CHUNK = b"eXIf"
_XMP_KEYS = ("xmp", "XML:com.adobe.xmp")
_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(?:="|>)([1-8])')
_RAW_PROFILE = "Raw profile type exif"
_LATE_CANDIDATES = 8
_MAX_EXIF_BYTES = 1 << 20
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


def _late_png_exif(data: bytes) -> bytes | None:
    """The last well-formed ``eXIf`` chunk's data (length and CRC checked), if any.

    Bounded: the last :data:`_LATE_CANDIDATES` occurrences of the chunk type are checked, with a
    CRC over at most :data:`_MAX_EXIF_BYTES`, so bytes crafted to repeat ``eXIf`` cost nothing.
    """
    at = data.rfind(_EXIF_CHUNK)
    for _ in range(_LATE_CANDIDATES):
        if at < 4:  # noqa: PLR2004 - a length field precedes the chunk type
            return None
        length = int.from_bytes(data[at - 4 : at], "big")
        end = at + 4 + length
        if length <= _MAX_EXIF_BYTES and end + 4 <= len(data):
            body = data[at + 4 : end]
            if zlib.crc32(_EXIF_CHUNK + body) == int.from_bytes(data[end : end + 4], "big"):
                return body
        at = data.rfind(_EXIF_CHUNK, 0, at)
    return None


def orientation_of(im: Image.Image, data: bytes | None = None) -> int:
    """The orientation (1-8; 1 when none is written) of an opened, undecoded image.

    ``data``: the file's bytes, to find a PNG ``eXIf`` chunk after the image data.
    """
    if im.format == "TIFF":
        return 1  # Pillow's TIFF reader turns the pixels upright itself while decoding
    found = None
    raw = im.info.get("exif")
    if isinstance(raw, (bytes, bytearray)) and raw:
        found = _from_exif(bytes(raw))
    elif _RAW_PROFILE in im.info:
        found = _from_raw_profile(im.info[_RAW_PROFILE])
    elif im.format == "PNG" and data is not None:
        late = _late_png_exif(data)
        found = _from_exif(late) if late else None
    if found is None:  # as Pillow: XMP only when EXIF has no orientation
        found = _from_xmp(im)
    return found or 1
