"""A minimal JPEG header reader: size, components and EXIF orientation, without Pillow.

The fast path sends a compliant JPEG untouched, so all it needs from the file is its size, its
colour components and whether EXIF asks for a rotation. Pillow's JPEG plugin parses every marker
(quantisation and Huffman tables included) in Python, which costs as much as base64-encoding the
whole file; walking the segment headers costs a few microseconds. Anything unusual (truncation, a
DNL height, multi-picture files, odd markers) returns None, and the caller asks Pillow instead.
The structural walk (:mod:`langchain_flexai.images._structure`) passes the same segments anyway:
it reads the header on its way with :func:`frame_header` and :func:`exif_orientation`, and the
codec uses that; :func:`probe_jpeg` reads it from the file alone (and is the walk's reference in
the tests). Knows the JPEG and TIFF byte layouts only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

_SOI = b"\xff\xd8"
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS = 0xDA  # start of scan: the header segments end here
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_EXIF_PREFIX = b"Exif\x00\x00"
_MPF_PREFIX = b"MPF\x00"
_ORIENTATION_TAG = 0x0112
_SHORT = 3
_BYTE_ORDERS: dict[bytes, Literal["little", "big"]] = {b"II": "little", b"MM": "big"}


@dataclass(frozen=True, slots=True)
class JpegHeader:
    """What the fast path needs to know about a JPEG."""

    width: int
    height: int
    components: int
    orientation: int


def probe_jpeg(data: bytes) -> JpegHeader | None:
    """Read a JPEG's frame header and EXIF orientation; None when Pillow should decide."""
    if not data.startswith(_SOI):
        return None
    orientation = 1
    for marker, body, length in segments(data):
        if marker in _SOF_MARKERS:
            return frame_header(data, body, length, orientation)
        if marker == 0xE1 and data.startswith(_EXIF_PREFIX, body):  # noqa: PLR2004 - APP1
            orientation = exif_orientation(data[body + 6 : body + length - 2]) or 1
        elif marker == 0xE2 and data.startswith(_MPF_PREFIX, body):  # noqa: PLR2004 - APP2
            return None  # multi-picture (MPO): Pillow knows its frames
    return None


def segments(data: bytes, limit: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(marker, body offset, length) of each header segment after SOI, up to the first scan.

    Stops at anything malformed, and after ``limit`` steps when given (a caller that looks for
    one early segment need not walk a file of a million comment segments).
    """
    pos, end, steps = 2, len(data), 0
    while pos + 4 <= end and data[pos] == 0xFF:  # noqa: PLR2004
        steps += 1
        if limit is not None and steps > limit:
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # noqa: PLR2004 - a fill byte before the marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == _SOS:
            return
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        body = pos + 4
        if length < 2 or body + length - 2 > end:  # noqa: PLR2004
            return
        yield marker, body, length
        pos = body + length - 2


def frame_header(data: bytes, body: int, length: int, orientation: int) -> JpegHeader | None:
    """The frame header (SOF) whose body starts at ``body``; None unless 8-bit with a height."""
    if length < 8 or data[body] != 8:  # noqa: PLR2004 - 8-bit samples; 12-bit goes to Pillow
        return None
    height = int.from_bytes(data[body + 1 : body + 3], "big")
    width = int.from_bytes(data[body + 3 : body + 5], "big")
    components = data[body + 5]
    if not width or not height:  # a zero height is defined later by a DNL marker
        return None
    return JpegHeader(width, height, components, orientation)


def exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag from IFD0 of an EXIF (TIFF) block, if present and sane."""
    byteorder = _BYTE_ORDERS.get(tiff[:2])
    if byteorder is None or len(tiff) < 8:  # noqa: PLR2004
        return None

    def number(offset: int, size: int) -> int:
        return int.from_bytes(tiff[offset : offset + size], byteorder)

    ifd = number(4, 4)
    count = number(ifd, 2) if ifd + 2 <= len(tiff) else 0
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        if number(entry, 2) == _ORIENTATION_TAG:
            value = number(entry + 8, 2) if number(entry + 2, 2) == _SHORT else 0
            return value if 1 <= value <= 8 else None  # noqa: PLR2004
    return None
