"""What a ``.npy`` blob claims to hold, checked before numpy allocates anything.

Knows the ``.npy`` header (magic, version, the header dictionary numpy writes) through numpy's own
header readers, and what an image array may look like; knows nothing about pixels beyond that.

``np.load`` allocates ``prod(shape) * itemsize`` bytes from the header before reading the data,
so a 100-byte blob claiming a 10**6 x 10**6 array raises numpy's ``MemoryError`` (or allocates
gigabytes when the claim is merely large). Here the header is read alone and the claim is checked
against the pixel limit and against the bytes actually present; only then is the array made, as a
view of the bytes already in memory (:func:`array_of`), not a copy.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

from langchain_flexai.errors import ImageErrorReason, ImageInputError

_GRAY, _RGB, _RGBA = 1, 3, 4
_NUMERIC_KINDS = frozenset("biuf")  # bool, signed, unsigned, float: what image_from_npy scales
_MAX_HEADER = 10_000  # numpy's own default max_header_size


@dataclass(frozen=True)
class NpyHeader:
    """A checked header: at least ``prod(shape) * dtype.itemsize`` data bytes follow it."""

    shape: tuple[int, ...]
    dtype: Any
    fortran_order: bool
    data_offset: int


def _bad(detail: str, reason: ImageErrorReason, source: str | None) -> ImageInputError:
    return ImageInputError(detail, reason=reason, source=source)


def read_npy_header(np: Any, data: bytes, max_pixels: int, source: str | None) -> NpyHeader:
    """Read and check a ``.npy`` header (``np`` is the numpy module, imported by the caller).

    Raises:
        ImageInputError: ``CORRUPT`` (no valid header, or fewer data bytes than the shape needs),
            ``NOT_AN_IMAGE`` (a shape or dtype no image has: objects, records, strings, more or
            fewer than 2-3 dimensions, a zero side) or ``DECOMPRESSION_BOMB`` (more pixels than
            ``max_pixels``).
    """
    fp = io.BytesIO(data)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = reader(fp, max_header_size=_MAX_HEADER)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise _bad(
            f"not a valid .npy array: its header cannot be read ({exc})",
            ImageErrorReason.CORRUPT,
            source,
        ) from exc
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in _NUMERIC_KINDS:
        raise _bad(
            f"a .npy image must hold numbers (bool, int, uint or float); got dtype {dtype}",
            ImageErrorReason.NOT_AN_IMAGE,
            source,
        )
    channels = 1 if len(shape) == 2 else (shape[2] if len(shape) == 3 else 0)  # noqa: PLR2004
    if channels not in (_GRAY, _RGB, _RGBA) or min(shape, default=0) <= 0:
        raise _bad(
            "a .npy image must be shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) with no "
            f"empty side; got {shape}",
            ImageErrorReason.NOT_AN_IMAGE,
            source,
        )
    height, width = shape[0], shape[1]
    if height * width > max_pixels:
        raise _bad(
            f"the .npy array claims {height}x{width} = {height * width} pixels, more than the "
            f"policy's decode limit of {max_pixels} (ImagePolicy.max_decode_pixels); "
            "refused without loading",
            ImageErrorReason.DECOMPRESSION_BOMB,
            source,
        )
    needed = math.prod(shape) * dtype.itemsize
    present = len(data) - fp.tell()
    if present < needed:
        raise _bad(
            f"the .npy array is truncated: its shape {shape} of {dtype} needs {needed} data "
            f"bytes, the blob holds {present}",
            ImageErrorReason.CORRUPT,
            source,
        )
    return NpyHeader(tuple(shape), dtype, bool(fortran), fp.tell())


def array_of(np: Any, data: bytes, header: NpyHeader) -> Any:
    """The array a checked header describes: a read-only view of ``data``, nothing copied."""
    count = math.prod(header.shape)
    flat = np.frombuffer(data, dtype=header.dtype, count=count, offset=header.data_offset)
    return flat.reshape(header.shape, order="F" if header.fortran_order else "C")
