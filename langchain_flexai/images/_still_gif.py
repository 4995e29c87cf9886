"""A still GIF of the common layout recognised in one pass: the fast path's size, or None.

The fast path's budget for a small GIF is a few microseconds, of which the general route (the
structural walk of :mod:`langchain_flexai.images._structure`, its ``Structure``, the header probe
of :mod:`langchain_flexai.images._still_header`) spent half in calls between the layers. This one
function reads what those read for the layout every encoder writes: the header and logical screen,
the global palette, extension blocks, one image (descriptor, local palette, LZW data in sub-blocks)
and the trailer. It answers only when the general route would answer the same: the file complete
(one image, then the trailer), only extensions before the image, a screen that is not empty, every
count well inside the walk's caps; then the size decoders show (the screen grown to hold the
image). Anything else (stray bytes, a second image, a cut, a count near a cap, an empty screen)
returns None and the caller takes the general route, which refuses or decides as before. So no
verdict and no error depends on this module (``tests/unit_tests/images/test_fast_path_verdicts.py``
compares the two on damaged and generated files). Knows the GIF89a block layout only.
"""

from __future__ import annotations

import struct

from langchain_flexai.images._structure import (
    MAX_GIF_EXTENSION_SUBBLOCKS,
    MAX_GIF_EXTENSIONS,
    MAX_GIF_SUBBLOCKS,
)

__all__ = ["GIF_SIGNATURES", "still_gif_size"]

GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
"""The two signatures the structural walk takes for a GIF."""

# Signature, logical screen width and height, flags: one unpack.
_HEAD = struct.Struct("<6x2HB")
# Separator, left, top, width, height, flags of an image descriptor: one unpack.
_DESCRIPTOR = struct.Struct("<x4HB")
_TRAILER, _EXTENSION, _IMAGE = 0x3B, 0x21, 0x2C
_FULL = 255
# Far enough for any run of full sub-blocks the walk's cap allows, and one more to notice it.
_RUN_SPAN = 256 * (MAX_GIF_SUBBLOCKS + 1)


def still_gif_size(data: bytes) -> tuple[int, int] | None:  # noqa: C901, PLR0911, PLR0912
    """The size a still GIF is shown at, when its layout is the common one; None otherwise.

    One function with locals, no helpers: it runs on every GIF's fast path. ``data`` starts with
    one of :data:`GIF_SIGNATURES` (the caller checked). A size here is exactly what the
    structural walk (complete, ``Structure.shown``) would give; None says nothing at all.
    """
    end = len(data)
    if end < 13:  # noqa: PLR2004 - header + logical screen descriptor
        return None
    width, height, flags = _HEAD.unpack_from(data)
    if not width or not height:
        return None  # an empty screen: the general route decides what is shown
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    extensions = extension_subblocks = 0
    # Extensions before the image (graphic control, comment, application): a few, each short.
    while pos < end and data[pos] == _EXTENSION:
        extensions += 1
        if extensions >= MAX_GIF_EXTENSIONS:
            return None
        pos += 2  # introducer, label; then sub-blocks up to an empty one (counted, as the
        while pos < end and data[pos]:  # walk counts them)
            extension_subblocks += 1
            if extension_subblocks >= MAX_GIF_EXTENSION_SUBBLOCKS:
                return None
            pos += data[pos] + 1
        extension_subblocks += 1
        pos += 1  # the terminator (past the end when the data is cut: caught below)
    if pos + 10 > end or data[pos] != _IMAGE:
        return None
    left, top, image_width, image_height, local = _DESCRIPTOR.unpack_from(data, pos)
    pos += 11 + ((3 << ((local & 7) + 1)) if local & 0x80 else 0)
    subblocks = 0
    while pos < end:
        size = data[pos]
        if size == _FULL:  # encoders write full sub-blocks: count a run of them at C speed
            run = data[pos : pos + _RUN_SPAN : 256]
            full = len(run) - len(run.lstrip(b"\xff"))
            subblocks, pos = subblocks + full, pos + 256 * full
            continue
        subblocks += 1
        if subblocks >= MAX_GIF_SUBBLOCKS:
            return None
        if not size:
            break
        pos += size + 1
    else:
        return None  # cut inside the image data
    if subblocks >= MAX_GIF_SUBBLOCKS or pos + 1 >= end or data[pos + 1] != _TRAILER:
        return None  # anything after the image but the trailer: the general route decides
    right, bottom = left + image_width, top + image_height
    # Conditionals, not max(): two builtin calls are a tenth of this function's cost.
    return (right if right > width else width), (bottom if bottom > height else height)  # noqa: FURB136
