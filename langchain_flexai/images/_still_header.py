"""PNG, WebP and GIF headers read without Pillow: the size, and whether the picture is still.

The fast path sends a compliant PNG, WebP or still GIF untouched, so all it needs is the picture's
size and pixel mode and the certainty that nothing in the file would make a decoder show
something else (animation frames, a rotation written in EXIF, XMP or a text chunk). Pillow's WebP
plugin opens a file through libwebp's animation decoder (about a millisecond for a 14 KB file),
its GIF plugin reads on to a second frame to answer ``is_animated``, and its PNG plugin parses
each header chunk in Python; the headers hold the same facts for a few microseconds of work.

Only the layouts that are unambiguous are answered: a PNG of a standard 8-bit-or-less mode with
no animation control and no chunk that may hold an orientation; a simple lossy (``VP8``) or
lossless (``VP8L``) WebP, an extended (``VP8X``) WebP whose flags and chunks declare one still
picture; and a GIF the structural walk (:mod:`langchain_flexai.images._structure`) found complete
with exactly one image, reached past extension blocks only (the walk reads its size on the way:
``Structure.shown``). Anything else returns None and the caller asks Pillow. The caller has
already run that walk, so chunk sizes and blocks read here are known to lie inside the data, and
the CRC of every PNG chunk but the pixel data has been checked (as Pillow does when it opens one).
Knows the PNG (ISO 15948), WebP container (RFC 9649) and GIF89a layouts only.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from langchain_flexai.images._structure import Structure

__all__ = ["StillHeader", "probe_still"]

_VP8_START_CODE = b"\x9d\x01\x2a"
_VP8L_SIGNATURE = 0x2F
_VP8_LAST_VERSION = 3
_VP8X_ANIMATION, _VP8X_XMP, _VP8X_EXIF, _VP8X_ICC = 0x02, 0x04, 0x08, 0x20
_VP8X_RESERVED = 0xC1
_FOURTEEN_BITS = 0x3FFF
_VP8L_VERSION_SHIFT = 29
_PNG_IHDR = struct.Struct(">IIBBBBB")
_PNG_IHDR_LENGTH = (13).to_bytes(4, "big")
_PNG_IHDR_END = 33  # signature, IHDR's length, type, 13 bytes and CRC
# (colour type, bit depth) -> Pillow's mode, for the 8-bit-or-less modes that display as they are.
_PNG_MODES = {
    (0, 1): "1",
    (0, 2): "L",
    (0, 4): "L",
    (0, 8): "L",
    (2, 8): "RGB",
    (3, 1): "P",
    (3, 2): "P",
    (3, 4): "P",
    (3, 8): "P",
    (4, 8): "LA",
    (6, 8): "RGBA",
}
# Where an orientation may be written in a PNG (EXIF; ImageMagick's raw profile and XMP in text).
_PNG_ORIENTATION_CHUNKS = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt"})
_RIFF_HEAD = 12  # "RIFF", size, "WEBP"
_CHUNK_HEAD = 8  # fourcc, size
_VP8X_BODY = 10  # flags, reserved, canvas width - 1 and height - 1 (24 bits each)
_VP8_BODY = 10  # frame tag, start code, width and height (16 bits each)
_VP8_FIELDS = struct.Struct("<IHB3sHH")  # chunk size, frame tag (16 + 8 bits), the rest
_VP8L_BODY = 5  # signature, 32 bits of size and version


class StillHeader(NamedTuple):
    """What the fast path needs to know about a still PNG, WebP or GIF."""

    width: int
    height: int
    mode: str = ""
    """Pillow's mode for a PNG (``1``, ``L``, ``LA``, ``P``, ``RGB``, ``RGBA``); "" otherwise."""


def probe_still(data: bytes, walked: Structure, *, exif_matters: bool) -> StillHeader | None:
    """The size of a still PNG, WebP or GIF from its headers; None when Pillow should decide.

    Args:
        data: The whole file, already found complete by the structural walk.
        walked: That walk's result: its format (PNG, WEBP or GIF) and, for a GIF, the size it
            read on its way (:attr:`Structure.shown`), so a GIF's blocks are walked once.
        exif_matters: Whether an orientation would be applied (``ImagePolicy.exif_transpose``):
            a file carrying EXIF, XMP or text metadata is then left to Pillow and
            :mod:`langchain_flexai.images._orientation`, which read the orientation there.
    """
    fmt = walked.format
    if fmt == "GIF":
        # The walk returned complete only for one image followed by the trailer: a still
        # picture. Its size is known when only extensions came before it (stray bytes: Pillow).
        shown = walked.shown
        return None if shown is None else StillHeader(*shown)
    if fmt == "PNG":
        return _png(data, exif_matters=exif_matters)
    if fmt == "WEBP":
        return _webp(data, exif_matters=exif_matters)
    return None


def _png(data: bytes, *, exif_matters: bool) -> StillHeader | None:
    # IHDR first, 13 bytes: width, height, bit depth, colour type, compression, filter, interlace.
    if len(data) < _PNG_IHDR_END or data[12:16] != b"IHDR" or data[8:12] != _PNG_IHDR_LENGTH:
        return None
    width, height, depth, colour, compression, filtering, interlace = _PNG_IHDR.unpack_from(
        data, 16
    )
    mode = _PNG_MODES.get((colour, depth))
    if mode is None or compression or filtering or interlace > 1 or not width or not height:
        return None  # 16-bit samples, or a header Pillow refuses: it decides and says why
    # The chunks before the pixels: the ones Pillow reads when it opens the file.
    pos, end, palette = _PNG_IHDR_END, len(data), False
    while pos + _CHUNK_HEAD <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            break
        if kind == b"acTL" or (exif_matters and kind in _PNG_ORIENTATION_CHUNKS):
            return None  # an animation, or metadata that may say to rotate
        palette = palette or kind == b"PLTE"
        pos += _CHUNK_HEAD + length + 4
    if mode == "P" and not palette:
        return None
    # An eXIf after the pixels (PNG 1.5 allowed it there) is the walk's late_exif: the caller's.
    return StillHeader(width, height, mode)


def _webp(data: bytes, *, exif_matters: bool) -> StillHeader | None:
    if len(data) < _RIFF_HEAD + _CHUNK_HEAD:
        return None
    kind = data[12:16]
    body = _RIFF_HEAD + _CHUNK_HEAD
    if kind == b"VP8 ":
        return _vp8(data, body)
    if kind == b"VP8L":
        return _vp8l(data, body)
    if kind == b"VP8X":
        return _vp8x(data, body, exif_matters=exif_matters)
    return None


def _vp8(data: bytes, body: int) -> StillHeader | None:
    if body + _VP8_BODY > len(data):
        return None
    # The chunk's size, then the frame tag (3 bytes), the start code, width and height: one
    # unpack (this runs for every lossy WebP on the fast path).
    chunk_size, tag_low, tag_high, start_code, width, height = _VP8_FIELDS.unpack_from(
        data, body - 4
    )
    if start_code != _VP8_START_CODE:
        return None
    # The frame tag (RFC 6386 9.1): a key frame (bit 0 clear), a version libwebp knows (0-3),
    # shown (bit 4), and a first partition that fits the chunk; libwebp refuses anything else.
    tag = tag_low | tag_high << 16
    if tag & 1 or (tag >> 1) & 7 > _VP8_LAST_VERSION or not tag & 0x10:
        return None
    if tag >> 5 > chunk_size - _VP8_BODY:
        return None
    # The top two bits of each dimension are an upscaling hint that decoders ignore.
    width &= _FOURTEEN_BITS
    height &= _FOURTEEN_BITS
    return StillHeader(width, height) if width and height else None


def _vp8l(data: bytes, body: int) -> StillHeader | None:
    head = data[body : body + _VP8L_BODY]
    if len(head) < _VP8L_BODY or head[0] != _VP8L_SIGNATURE:
        return None
    bits = int.from_bytes(head[1:5], "little")
    if bits >> _VP8L_VERSION_SHIFT:  # version 0 is the only one decoders accept
        return None
    return StillHeader((bits & _FOURTEEN_BITS) + 1, ((bits >> 14) & _FOURTEEN_BITS) + 1)


def _vp8x(data: bytes, body: int, *, exif_matters: bool) -> StillHeader | None:
    head = data[body : body + _VP8X_BODY]
    if len(head) < _VP8X_BODY or int.from_bytes(data[body - 4 : body], "little") != _VP8X_BODY:
        return None
    flags = head[0]
    if flags & _VP8X_RESERVED or head[1:4] != b"\0\0\0" or flags & _VP8X_ANIMATION:
        return None
    if exif_matters and flags & (_VP8X_EXIF | _VP8X_XMP):
        return None
    canvas = StillHeader(
        int.from_bytes(head[4:7], "little") + 1, int.from_bytes(head[7:10], "little") + 1
    )
    # The flags are hints; the chunks decide: exactly one bitstream of the canvas's size, an
    # ICC chunk exactly when flagged, and no animation chunks (a writer may set no flag and
    # still append frames). libwebp refuses a still image whose size differs from its canvas.
    bitstreams: list[StillHeader | None] = []
    kinds: set[bytes] = set()
    pos, end = _RIFF_HEAD + _CHUNK_HEAD + _VP8X_BODY, len(data)
    while pos + _CHUNK_HEAD <= end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        kinds.add(kind)
        if kind == b"VP8 ":
            bitstreams.append(_vp8(data, pos + _CHUNK_HEAD))
        elif kind == b"VP8L":
            bitstreams.append(_vp8l(data, pos + _CHUNK_HEAD))
        pos += _CHUNK_HEAD + size + (size & 1)
    if kinds & {b"ANIM", b"ANMF", b"VP8X"} or (exif_matters and kinds & {b"EXIF", b"XMP "}):
        return None
    if bool(flags & _VP8X_ICC) != (b"ICCP" in kinds):
        return None
    return canvas if bitstreams == [canvas] else None
