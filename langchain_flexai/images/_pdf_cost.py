"""What drawing one PDF page may cost, judged from its objects before PDFium draws it.

PDFium's drawing time grows with the area each object covers and the segments of each path, not
with the file's size: a 3 KB page of repeated full-page fills costs seconds. After the page is
loaded (its content parsed, bounded by :mod:`langchain_flexai.images._pdf_structure`) and before
it is drawn, its objects are walked, nested forms included, and a page over the budget is refused
as ``TOO_COMPLEX``; an image object claiming more pixels than the policy's decode limit as
``DECOMPRESSION_BOMB``; a page box no real page has as ``CORRUPT`` or ``TOO_LARGE``.

Knows pypdfium2's raw object API (handed in as ``raw``, so this module never imports the extra)
and the budget's constants. Must be called with ``PDFIUM_LOCK`` held. Knows nothing about
rendering, encoding or files.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Any

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._policy import ImagePolicy

__all__ = ["MAX_PAGE_ASPECT", "MAX_PAGE_OBJECTS", "MAX_PAGE_WORK", "check_box", "check_cost"]


def _refuse(reason: ImageErrorReason, detail: str) -> ImageInputError:
    return ImageInputError(detail, reason=reason)


MAX_PAGE_OBJECTS = 8_000
"""Most drawing objects (text runs, paths, images, nested in forms) one page may hold. A dense text
page holds a few hundred to a few thousand; drawing 8,000 text runs costs about 0.8 s."""

MAX_PAGE_WORK = 270
"""Most rendering work one page may ask for, in full-page fills: each object counts the share of
the page its bounding box covers, a path that share times (segments / 40). PDFium fills a page at
the largest size the default policy renders in about 3.5 ms (40 path segments across the page cost
about the same), so 270 is about 1 s; a text page costs a few units, a detailed map tens."""

_SEGMENTS_PER_UNIT = 40
_FORM_DEPTH = 8


MAX_PAGE_ASPECT = 200
"""Most times one side of a page may be longer than the other: drawn with its long side at 2048
pixels, the short side is then still about 10 pixels. Till rolls and long web captures stay far
below; beyond it the page would reach the model as a sliver nobody can read."""


def check_box(width: float, height: float) -> None:
    """Refuse a page box no real page has: under a point, or a sliver.

    Raises:
        ImageInputError: ``CORRUPT`` or ``TOO_LARGE`` (unlocated).
    """
    if min(width, height) < 1:
        raise _refuse(
            ImageErrorReason.CORRUPT,
            f"the page box is {width:g} x {height:g} points, smaller than any page (a point is "
            "1/72 inch); the PDF is damaged",
        )
    if max(width, height) / min(width, height) > MAX_PAGE_ASPECT:
        raise _refuse(
            ImageErrorReason.TOO_LARGE,
            f"the page box is {width:g} x {height:g} points, more than {MAX_PAGE_ASPECT} times "
            "longer than wide: drawn within the image size limits, its text could not be read; "
            "split or crop the page",
        )


def check_cost(pdfium: Any, page: Any, page_area: float, policy: ImagePolicy) -> None:
    """Refuse a page whose drawing would cost more than the budget, before it is drawn.

    Raises:
        ImageInputError: ``TOO_COMPLEX`` or ``DECOMPRESSION_BOMB`` (unlocated).
    """
    raw = pdfium.raw
    budget = _Budget()
    handle = page.raw
    _walk_objects(
        raw,
        [raw.FPDFPage_GetObject(handle, i) for i in range(raw.FPDFPage_CountObjects(handle))],
        page_area,
        policy,
        budget,
        0,
    )


@dataclass
class _Budget:
    objects: int = 0
    work: float = 0.0


def _bounds_share(raw: Any, obj: Any, page_area: float) -> float:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        return 1.0
    area = max(0.0, right.value - left.value) * max(0.0, top.value - bottom.value)
    return min(1.0, area / page_area) if math.isfinite(area) else 1.0


def _walk_objects(  # noqa: PLR0917 - a recursive walk, private
    raw: Any, objects: list[Any], page_area: float, policy: ImagePolicy, budget: _Budget, depth: int
) -> None:
    for obj in objects:
        budget.objects += 1
        if budget.objects > MAX_PAGE_OBJECTS:
            raise _refuse(
                ImageErrorReason.TOO_COMPLEX,
                f"the page holds more than {MAX_PAGE_OBJECTS} drawing objects, far more than any "
                "real page; it is not rendered",
            )
        kind = raw.FPDFPageObj_GetType(obj)
        share = _bounds_share(raw, obj, page_area)
        if kind == raw.FPDF_PAGEOBJ_PATH:
            segments = raw.FPDFPath_CountSegments(obj)
            budget.work += share * max(1.0, segments / _SEGMENTS_PER_UNIT)
        elif kind == raw.FPDF_PAGEOBJ_IMAGE:
            _check_image(raw, obj, policy)
            budget.work += share
        elif kind == raw.FPDF_PAGEOBJ_FORM and depth < _FORM_DEPTH:
            inner = [
                raw.FPDFFormObj_GetObject(obj, i) for i in range(raw.FPDFFormObj_CountObjects(obj))
            ]
            _walk_objects(raw, inner, page_area, policy, budget, depth + 1)
        else:
            budget.work += share
        if budget.work > MAX_PAGE_WORK:
            raise _refuse(
                ImageErrorReason.TOO_COMPLEX,
                f"drawing the page would cost more than {MAX_PAGE_WORK} full-page fills (its "
                "objects cover the page over and over, or its paths have millions of segments); "
                "it is not rendered",
            )


def _check_image(raw: Any, obj: Any, policy: ImagePolicy) -> None:
    width, height = ctypes.c_uint(), ctypes.c_uint()
    if not raw.FPDFImageObj_GetImagePixelSize(obj, width, height):
        return
    pixels = width.value * height.value
    if pixels > policy.max_decode_pixels:
        raise _refuse(
            ImageErrorReason.DECOMPRESSION_BOMB,
            f"the page shows an image of {width.value}x{height.value} pixels, more than the "
            f"policy's decode limit of {policy.max_decode_pixels} (ImagePolicy.max_decode_pixels); "
            "it is not rendered",
        )
