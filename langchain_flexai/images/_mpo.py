r"""The primary picture of a multi-picture JPEG, cut out without decoding.

Knows the CIPA DC-007 Multi-Picture Format: an ``APP2`` segment starting ``MPF\0`` in the first
picture's header holds a TIFF-structured index (``MPEntry``, tag ``0xB002``) giving each picture's
size and its offset from that index. Phones and stereo cameras write it (MPO), and so do gain-map
HDR JPEGs (Ultra HDR, ISO 21496-1: a second JPEG holding the gain map after the first). Knows
nothing about pixels, Pillow or policies.

Such a file is a valid JPEG whose bytes go on past the primary picture's EOI, so sending it as is
makes FlexAI receive (and, depending on its decoder, read or choke on) every picture. The primary
picture is ``data[:size of entry 0]``; the ``MPF`` segment is removed from it as well, since its
index would name pictures that are no longer there (Pillow would still open the result as an MPO
of two frames). No other byte changes: EXIF offsets are relative to their own TIFF header, and the
scans follow the header unchanged, so a compliant primary is still sent without a re-encode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from langchain_flexai.images._jpeg_header import segments

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_MPF = b"MPF\x00"
_APP2 = 0xE2
_NUMBER_OF_IMAGES = 0xB001
_MP_ENTRY = 0xB002
_MAX_SEGMENTS = 64
_ENTRY_BYTES = 16
_IFD_ENTRY_BYTES = 12
_TIFF_HEADER_BYTES = 8
_BYTE_ORDERS: dict[bytes, Literal["little", "big"]] = {b"II": "little", b"MM": "big"}


@dataclass(frozen=True)
class PrimaryPicture:
    """A multi-picture JPEG's first picture.

    Attributes:
        data: The primary picture alone, as a plain JPEG; None when the index is damaged and the
            picture cannot be cut out safely (the caller then decodes the first frame instead).
        pictures: How many pictures the index announces (0 when it cannot be read).
        whole: The whole file, for a decoder to read its first picture when ``data`` is None.
    """

    data: bytes | None
    pictures: int
    whole: bytes


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, start, end) of the first header segments, up to the first scan.

    At most :data:`_MAX_SEGMENTS`: writers put the MP index among the first application segments
    (right after EXIF), and a file of a million comment segments must not cost a walk here.
    """
    for marker, body, length in segments(data, _MAX_SEGMENTS):
        yield marker, body - 4, body + length - 2


def _index(tiff: bytes) -> tuple[int, list[tuple[int, int]]] | None:
    """(number of pictures, [(size, offset), ...]) from an MP index, or None when unreadable."""
    byteorder = _BYTE_ORDERS.get(tiff[:2])
    if byteorder is None or len(tiff) < _TIFF_HEADER_BYTES:
        return None

    def number(offset: int, size: int) -> int:
        return int.from_bytes(tiff[offset : offset + size], byteorder)

    ifd = number(4, 4)
    if ifd + 2 > len(tiff):
        return None
    pictures, entries = 0, b""
    last = min(ifd + 2 + _IFD_ENTRY_BYTES * number(ifd, 2), len(tiff) - _IFD_ENTRY_BYTES + 1)
    for entry in range(ifd + 2, last, _IFD_ENTRY_BYTES):
        tag, count, value = number(entry, 2), number(entry + 4, 4), number(entry + 8, 4)
        if tag == _NUMBER_OF_IMAGES:
            pictures = value
        elif tag == _MP_ENTRY:
            entries = tiff[value : value + count] if count > 4 else b""  # noqa: PLR2004
    table = [
        (
            int.from_bytes(entries[at + 4 : at + 8], byteorder),
            int.from_bytes(entries[at + 8 : at + 12], byteorder),
        )
        for at in range(0, len(entries) - _ENTRY_BYTES + 1, _ENTRY_BYTES)
    ]
    return (pictures or len(table)), table


def _cut_at(data: bytes, end: int) -> bytes | None:
    """``data[:end]`` when it is a whole JPEG (SOI ... EOI, give or take zero padding)."""
    if not 4 <= end <= len(data):  # noqa: PLR2004
        return None
    picture = data[:end].rstrip(b"\x00")
    return picture if picture.endswith(_EOI) else None


def primary_picture(data: bytes) -> PrimaryPicture | None:
    """The primary picture of a multi-picture JPEG; None for any other input (nothing to cut)."""
    if not data.startswith(_SOI):
        return None
    for marker, start, end in _segments(data):
        if marker != _APP2 or not data.startswith(_MPF, start + 4):
            continue
        base = start + 4 + len(_MPF)  # offsets in the index count from its TIFF header
        index = _index(data[base:end])
        if index is None:
            return PrimaryPicture(None, 0, data)
        pictures, table = index
        if pictures <= 1 and len(table) <= 1:
            return None
        cut = _cut_at(data, table[0][0]) if table else None
        if cut is None and len(table) > 1:
            cut = _cut_at(data, base + table[1][1])  # the second picture starts after the first
        if cut is None or len(cut) <= end:
            return PrimaryPicture(None, pictures, data)
        return PrimaryPicture(cut[:start] + cut[end:], pictures, data)
    return None
