"""One large downscale on two cores: the output's rows in two bands, the second on its own thread.

Pillow resizes on one core. For a 24 MP screenshot its box reduce and LANCZOS are about a third of
the preparation, while the other core idles; two bands of output rows, each reduced and resampled
from the source rows it needs, take both. The bands hold the very pixels of the one call they
replace, ``im.resize(size, LANCZOS, reducing_gap=gap)``, because each band repeats what that call
computes:

- **The filter positions.** Pillow hands a resize box to C as 32-bit floats and computes each output
  row's filter centre from the box and the scale. The bands meet only at an output row whose source
  coordinate is exact in float32 and whose bands keep the whole call's scale to the last bit. Such a
  row exists near the middle for the usual sizes (multiples of the scale's reduced denominator);
  where none does, the one call is made.
- **The box reduce** that ``reducing_gap`` puts before the LANCZOS is done per band on source rows
  aligned to the reduce factor. Those rows span what the band's filters read, plus a margin, so a
  band sees the reduced rows the whole call would, and the image's edges only where the whole does.
- **Premultiplied alpha**: LA and RGBA are converted around the resize as Pillow's own ``resize``
  converts them. (Pillow 12 and earlier then resize without ``reducing_gap``; the bands apply it,
  as Pillow 13 does. The order of the two passes is the installed Pillow's.)

Only where splitting pays: a source of 8 MP or more (under that a band saves a few milliseconds
against a thread's start and the bands' copy), two CPUs, and no other large resize in flight (a
folder run's or a describe run's workers already keep the cores busy, one image each).

Knows Pillow's resampling arithmetic and threads; knows nothing about policies, formats or files.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image, __version__

from langchain_flexai.images._pillow_errors import pillow_errors

__all__ = ["lanczos_resize", "split_row"]

MIN_SOURCE_PIXELS = 8_000_000
_LANCZOS_SUPPORT = 3.0  # Pillow's lanczos filter reaches 3 source pixels each side at scale 1
_MARGIN_ROWS = 2  # reduced rows past what a band's filters read, against rounding at its edge
_PREMULTIPLIED = {"LA": "La", "RGBA": "RGBa"}
_BANDED_MODES = frozenset({"L", "RGB", "La", "RGBa"})  # 8-bit modes Pillow's box reduce takes
_FLOAT32_INTEGERS = 1 << 24
_ORDER_BY_SHAPE = int(__version__.split(".")[0]) >= 13  # noqa: PLR2004 - Pillow 13

_in_flight = 0
_in_flight_lock = threading.Lock()


def _reset_after_fork() -> None:
    # A child forked mid-resize has none of the parent's threads: nothing of theirs is in
    # flight, and a lock another thread held at the fork would never be released.
    global _in_flight, _in_flight_lock
    _in_flight, _in_flight_lock = 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


_CPUS = _cpus()


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def split_row(source_rows: float, out_rows: int) -> tuple[int, float] | None:
    """An output row near the middle where two bands can meet exactly, and its source coordinate.

    ``source_rows`` is the height of the source box (the reduced image's, after a box reduce), as
    Pillow passes it to C: a float32. Output row ``k`` sits at ``k * source_rows / out_rows``; the
    bands ``[0, k)`` and ``[k, out_rows)`` have the whole call's scale when that coordinate is an
    exact binary fraction, which float32 holds. None when no such row lies in the middle half.
    """
    whole = Fraction(_float32(source_rows))
    if out_rows < 2 or whole == out_rows or whole >= _FLOAT32_INTEGERS:  # noqa: PLR2004
        return None
    per_row = whole / out_rows
    step = per_row.denominator
    while step % 2 == 0:  # the coordinate needs only the odd part of the denominator cancelled
        step //= 2
    row = max(step, round(out_rows / 2 / step) * step)
    if not out_rows / 4 <= row <= out_rows * 3 / 4:
        return None
    coordinate = per_row * row
    if _float32(float(coordinate)) != coordinate:
        return None
    return row, float(coordinate)


@dataclass(frozen=True)
class _Plan:
    """How the whole call resizes: reduce factors, box in the reduced image, order of passes."""

    size: tuple[int, int]
    factors: tuple[int, int]
    box_width: float
    box_height: float
    reduced: tuple[int, int]
    vertical_first: bool


def _plan(im: Image.Image, size: tuple[int, int], gap: float) -> _Plan:
    # Image.resize's own arithmetic for reducing_gap, the box being the whole image.
    fx = int(im.width / size[0] / gap) or 1
    fy = int(im.height / size[1] / gap) or 1
    reduced = (-(-im.width // fx), -(-im.height // fy))
    # Pillow 13's resampler runs the vertical pass first when the height shrinks by more than
    # twice what the width does, comparing the (reduced) image's sides with the output's;
    # earlier ones always ran the horizontal pass first.
    shrink_h, shrink_w = reduced[1] - size[1], reduced[0] - size[0]
    return _Plan(
        size,
        (fx, fy),
        _float32(im.width / fx),  # as C will read them: float32
        _float32(im.height / fy),
        reduced,
        vertical_first=_ORDER_BY_SHAPE and shrink_h > 0 and shrink_h > 2 * shrink_w,
    )


def _band(
    im: Image.Image, plan: _Plan, rows: tuple[int, int], span: tuple[float, float]
) -> Image.Image:
    """Output rows ``rows``, from source box rows ``span`` (reduced coordinates): two passes."""
    (k0, k1), (b0, b1) = rows, span
    scale = (b1 - b0) / (k1 - k0)
    support = _LANCZOS_SUPPORT * max(scale, 1.0)
    # The reduced rows this band's filters read (Pillow's rounding), plus the margin.
    first = max(0, int(b0 + 0.5 * scale - support + 0.5) - _MARGIN_ROWS)
    last = min(plan.reduced[1], int(b1 - 0.5 * scale + support + 0.5) + _MARGIN_ROWS)
    fx, fy = plan.factors
    lanczos = Image.Resampling.LANCZOS
    width, height = plan.size[0], k1 - k0
    with pillow_errors():
        if (fx, fy) != (1, 1):
            piece = im.reduce((fx, fy), (0, first * fy, im.width, min(im.height, last * fy)))
        elif (first, last) != (0, im.height):
            piece = im.crop((0, first, im.width, last))
        else:
            piece = im
        # One pass at a time, each with the box the one call gives it (in the piece's rows).
        if plan.vertical_first:
            tall = piece.resize(
                (piece.width, height), lanczos, (0, b0 - first, piece.width, b1 - first)
            )
            return tall.resize((width, height), lanczos, (0, 0, plan.box_width, height))
        wide = piece.resize((width, piece.height), lanczos, (0, 0, plan.box_width, piece.height))
        return wide.resize((width, height), lanczos, (0, b0 - first, width, b1 - first))


def _both(
    top: Callable[[], Image.Image], bottom: Callable[[], Image.Image]
) -> tuple[Image.Image, Image.Image]:
    """``top`` here, ``bottom`` on a new thread (Pillow's resampling releases the GIL)."""
    outcome: list[Image.Image | BaseException] = []

    def run() -> None:
        try:
            outcome.append(bottom())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="flexai-resize-band", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had (a process or memory limit): both bands here
        return top(), bottom()
    try:
        upper = top()
    finally:
        thread.join()
    lower = outcome[0]
    if isinstance(lower, BaseException):
        raise lower
    return upper, lower


@contextmanager
def _large_resize() -> Iterator[bool]:
    """Count this resize as in flight; yield whether it is the only one."""
    global _in_flight  # noqa: PLW0603 - one process-wide count, guarded by its lock
    with _in_flight_lock:
        alone = _in_flight == 0
        _in_flight += 1
    try:
        yield alone
    finally:
        with _in_flight_lock:
            _in_flight -= 1


def _banded(im: Image.Image, plan: _Plan, split: tuple[int, float] | None) -> Image.Image:
    whole = ((0, plan.size[1]), (0.0, plan.box_height))
    if split is None:
        return _band(im, plan, *whole)
    row, coordinate = split
    upper, lower = _both(
        lambda: _band(im, plan, (0, row), (0.0, coordinate)),
        lambda: _band(im, plan, (row, plan.size[1]), (coordinate, plan.box_height)),
    )
    with pillow_errors():
        out = Image.new(im.mode, plan.size)
        out.paste(upper, (0, 0))
        out.paste(lower, (0, row))
    return out


def lanczos_resize(im: Image.Image, size: tuple[int, int], gap: float) -> Image.Image:
    """``im.resize(size, LANCZOS, reducing_gap=gap)``, the same pixels, on two cores when it pays.

    With two CPUs or more, a large 8-bit image always takes the two explicit passes, split or
    not, so its pixels never depend on whether another resize was in flight.
    """
    mode = _PREMULTIPLIED.get(im.mode, im.mode)
    large = _CPUS > 1 and im.width * im.height >= MIN_SOURCE_PIXELS and mode in _BANDED_MODES
    plan = _plan(im, size, gap) if large else None
    split = split_row(plan.box_height, size[1]) if plan is not None else None
    if plan is None or split is None:
        with pillow_errors():
            return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=gap)
    with pillow_errors():
        work = im if mode == im.mode else im.convert(mode)
    with _large_resize() as alone:
        out = _banded(work, plan, split if alone else None)
    if work is im:
        return out
    with pillow_errors():
        return out.convert(im.mode)
