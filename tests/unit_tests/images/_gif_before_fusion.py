"""The GIF walk and header probe, and the VP8 header reader, as they were: a test's oracle.

``tests/unit_tests/images/test_fast_path_verdicts.py`` checks that the fused walk (which reads a
still GIF's size on its way, ``Structure.shown``) and the one-unpack VP8 reader reach the
verdicts these did, on thousands of damaged files. Copied unchanged from ``_structure.py`` and
``_still_header.py`` (only renamed).
"""

from __future__ import annotations

import struct

from langchain_flexai.images._still_header import StillHeader
from langchain_flexai.images._structure import (
    MAX_GIF_EXTENSION_SUBBLOCKS,
    MAX_GIF_EXTENSIONS,
    MAX_GIF_SUBBLOCKS,
    MAX_PADDING_BYTES,
    Structure,
    _no_image,
    _too_complex,
)

_GIF_TRAILER, _GIF_EXTENSION, _GIF_IMAGE = 0x3B, 0x21, 0x2C
_FULL_SUBBLOCK = 255
_GIF_MIN = 13  # signature, logical screen descriptor
_GIF_DESCRIPTOR = 10  # separator, left, top, width, height, flags
_GIF_BOX = struct.Struct("<4H")


def _skip_subblocks(data: bytes, pos: int, budget: int) -> tuple[int, int]:
    """(offset after a sub-block chain's terminator or -1 if the data ends first, sub-blocks).

    Stops counting at ``budget + 1`` sub-blocks: the caller refuses past its cap.
    """
    end, count = len(data), 0
    while pos < end and count <= budget:
        size = data[pos]
        if size == _FULL_SUBBLOCK:
            # Encoders write 255-byte sub-blocks: count a run of them at C speed, every 256th
            # byte being the next one's length.
            run = data[pos : pos + 256 * (budget - count + 1) : 256]
            full = len(run) - len(run.lstrip(b"\xff"))
            count, pos = count + full, pos + 256 * full
            continue
        count += 1
        if size == 0:
            return pos + 1, count
        pos += size + 1
    return -1, count


class _GifWalk:
    """The GIF block walk: counts what Pillow would read one by one in Python."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.images = self.extensions = self.extension_subblocks = self.subblocks = 0

    def extension(self, pos: int) -> int:
        """Skip an extension block at ``pos`` (introducer, label, sub-blocks)."""
        self.extensions += 1
        if self.extensions > MAX_GIF_EXTENSIONS:
            raise _too_complex("extension blocks", MAX_GIF_EXTENSIONS, "GIF")
        budget = MAX_GIF_EXTENSION_SUBBLOCKS - self.extension_subblocks
        pos, count = _skip_subblocks(self.data, pos + 2, budget)
        self.extension_subblocks += count
        if self.extension_subblocks > MAX_GIF_EXTENSION_SUBBLOCKS:
            raise _too_complex(
                "data sub-blocks in its extensions", MAX_GIF_EXTENSION_SUBBLOCKS, "GIF"
            )
        return pos

    def image(self, pos: int) -> int:
        """Skip an image (descriptor, local palette, LZW code size, sub-blocks); -1 if cut."""
        data = self.data
        if pos + 10 > len(data):
            return -1
        local = data[pos + 9]
        pos += 11 + ((3 << ((local & 7) + 1)) if local & 0x80 else 0)
        pos, count = _skip_subblocks(data, pos, MAX_GIF_SUBBLOCKS - self.subblocks)
        self.subblocks += count
        if self.subblocks > MAX_GIF_SUBBLOCKS:
            raise _too_complex("image data sub-blocks", MAX_GIF_SUBBLOCKS, "GIF")
        return pos


def walk_gif(data: bytes) -> Structure:
    """Blocks up to the trailer, or the second image (an animation is never sent as it is)."""
    end = len(data)
    if end < 13:
        return Structure("GIF", complete=False)
    flags, pos = data[10], 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    walk, padding = _GifWalk(data), 0
    while 0 <= pos < end:
        block = data[pos]
        if block == _GIF_TRAILER:
            if not walk.images:
                raise _no_image("GIF", "its trailer comes before any image")
            return Structure("GIF", complete=True)
        if block == _GIF_EXTENSION:
            pos = walk.extension(pos)
        elif block == _GIF_IMAGE:
            walk.images += 1
            if walk.images > 1:
                break
            pos = walk.image(pos)
        else:
            # Pillow skips unknown bytes one at a time; so may we, within a bound.
            padding += 1
            if padding > MAX_PADDING_BYTES:
                raise _too_complex("stray bytes between its blocks", MAX_PADDING_BYTES, "GIF")
            pos += 1
    return Structure("GIF", complete=False)


def probe_gif(data: bytes) -> StillHeader | None:
    # The walk returned complete only for one image followed by the trailer: a still picture,
    # shown at the logical screen's size, grown to hold the image if it reaches past the screen
    # (as Pillow and browsers do).
    if len(data) < _GIF_MIN:
        return None
    width = int.from_bytes(data[6:8], "little")
    height = int.from_bytes(data[8:10], "little")
    image = _gif_image_box(data)
    if image is None or not width or not height:
        return None
    right, bottom = image
    return StillHeader(max(width, right), max(height, bottom))


def _gif_image_box(data: bytes) -> tuple[int, int] | None:
    """(left + width, top + height) of the first image; None past anything but extensions."""
    flags, pos, end = data[10], _GIF_MIN, len(data)
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    while pos < end and data[pos] == _GIF_EXTENSION:
        pos += 2  # introducer, label; then sub-blocks up to an empty one
        while pos < end and data[pos]:
            pos += data[pos] + 1
        pos += 1
    if pos + _GIF_DESCRIPTOR > end or data[pos] != _GIF_IMAGE:
        return None  # stray bytes between blocks: Pillow decides
    left, top, width, height = _GIF_BOX.unpack_from(data, pos + 1)
    return left + width, top + height


# The VP8 frame header reader as it was before it read the fields in one unpack.
_VP8_BODY, _VP8_START_CODE, _VP8_LAST_VERSION, _FOURTEEN_BITS = 10, b"\x9d\x01\x2a", 3, 0x3FFF


def vp8(data: bytes, body: int) -> StillHeader | None:
    head = data[body : body + _VP8_BODY]
    if len(head) < _VP8_BODY or head[3:6] != _VP8_START_CODE:
        return None
    # The frame tag (RFC 6386 9.1): a key frame (bit 0 clear), a version libwebp knows (0-3),
    # shown (bit 4), and a first partition that fits the chunk; libwebp refuses anything else.
    tag = int.from_bytes(head[0:3], "little")
    chunk_size = int.from_bytes(data[body - 4 : body], "little")
    if tag & 1 or (tag >> 1) & 7 > _VP8_LAST_VERSION or not tag & 0x10:
        return None
    if tag >> 5 > chunk_size - _VP8_BODY:
        return None
    # The top two bits of each dimension are an upscaling hint that decoders ignore.
    width = int.from_bytes(head[6:8], "little") & _FOURTEEN_BITS
    height = int.from_bytes(head[8:10], "little") & _FOURTEEN_BITS
    return StillHeader(width, height) if width and height else None
