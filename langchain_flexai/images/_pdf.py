"""PDF pages as images: PDFium renders one page at a time, the image pipeline encodes it.

Knows the ``pdf`` extra (pypdfium2, PDFium's Python binding), which PDFium failures mean what
(encrypted, damaged, no pages), how big a page is rendered (its long side at
``ImagePolicy.max_side``, never past the policy's pixel limits, whatever the page box says), what
a page may cost before it is loaded (:mod:`langchain_flexai.images._pdf_forms`) and drawn
(objects, covered area, path segments, image pixels), the page
text layer, and the cache of rendered pages (the prepared-image cache, keyed by the PDF's hash).
Knows nothing about message content (``content/`` decides what a PDF part is) or files (the door,
:mod:`langchain_flexai.images._pdf_door`, reads them).

PDFium is not thread-safe (pypdfium2 says so): every call into it, opening and closing included,
holds :data:`PDFIUM_LOCK`. Only PDFium's own work is serialised: encoding a rendered page (Pillow)
happens outside the lock, so threads preparing several PDFs still overlap. A PDF is held open
while its pages are iterated and closed when the iterator ends or is closed; one page's bitmap
lives at a time, so memory stays flat in the page count.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_flexai.errors import ImageErrorReason, ImageInputError, escape_text
from langchain_flexai.images._b64 import b64encode_str
from langchain_flexai.images._doors import _CACHE
from langchain_flexai.images._pdf_cost import check_box, check_cost
from langchain_flexai.images._pdf_forms import PageLoadCosts
from langchain_flexai.images._pdf_pages import parse_pages
from langchain_flexai.images._pdf_structure import outline
from langchain_flexai.images._policy import DEFAULT_POLICY, ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from langchain_flexai.images._render import render

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "INSTALL_HINT",
    "PDFIUM_LOCK",
    "PdfPage",
    "iter_pdf_pages",
    "page_label",
    "parse_pages",
    "pdf_page_count",
]

INSTALL_HINT = 'pip install "langchain-flexai[pdf]"'
"""What to run when pypdfium2 is missing."""

PDFIUM_LOCK = threading.RLock()
"""Held around every PDFium call: PDFium keeps global state and is not thread-safe."""

PDFIUM_MAX_PAGES = 1_048_575
"""PDFium's own ceiling on a page count (``CPDF_Document::kPageMaxNum``); a page tree claiming
more is not opened at all."""


@dataclass(frozen=True)
class PdfPage:
    """One rendered page of a PDF."""

    number: int
    """The page number, from 1."""
    count: int
    """Pages in the document."""
    image: PreparedImage
    """The rendered page, through the image pipeline (encoded, cached by content)."""
    text: str
    """The page's text layer (PDFium's extraction); "" when it has none or text was not asked."""


def page_label(number: int, count: int, name: str | None) -> str:
    """How a page is named to the model and in errors: ``"report.pdf, page 2 of 5"``."""
    # A name from message content is the sender's text: one line, no bidi or control characters.
    shown = escape_text(name) if name else None
    return f"{shown}, page {number} of {count}" if shown else f"PDF page {number} of {count}"


def _pdfium() -> Any:
    try:
        import pypdfium2  # noqa: PLC0415 - an optional extra, imported when a PDF arrives
    except ImportError as exc:
        raise ImportError(f"reading PDFs needs the pdf extra: {INSTALL_HINT}") from exc
    return pypdfium2


def _refuse(reason: ImageErrorReason, detail: str, name: str | None) -> ImageInputError:
    return ImageInputError(detail, reason=reason, source=name)


def _open(data: bytes, name: str | None) -> Any:
    """Open a PDF under the lock, after the structural walk; every failure becomes ours."""
    shape = outline(data, name)
    if shape.largest_count is not None and shape.largest_count > PDFIUM_MAX_PAGES:
        raise _refuse(
            ImageErrorReason.TOO_MANY_PAGES,
            f"the PDF's page tree claims {shape.largest_count} pages, more than PDFium can open "
            f"({PDFIUM_MAX_PAGES}); a real document that long must be split before sending",
            name,
        )
    pdfium = _pdfium()
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise _open_error(
                exc, encrypted=shape.encrypted, largest_count=shape.largest_count, name=name
            ) from None
        # Filled-in form fields are drawn with the page; without a form environment the page is
        # drawn without its fields' appearance.
        with contextlib.suppress(pdfium.PdfiumError):
            document.init_forms()
    return document


def _open_error(
    exc: Exception, *, encrypted: bool, largest_count: int | None, name: str | None
) -> ImageInputError:
    code = getattr(exc, "err_code", None)
    if code == 4 and encrypted:  # noqa: PLR2004 - FPDF_ERR_PASSWORD
        return _refuse(
            ImageErrorReason.ENCRYPTED,
            "the PDF is protected by a password, so its pages cannot be read; open it with the "
            "password and save or print an unprotected copy, then send that",
            name,
        )
    if code == 4 and largest_count == 0:  # noqa: PLR2004 - PDFium says "password" for no pages
        return _refuse(ImageErrorReason.EMPTY, "the PDF has no pages; nothing to send", name)
    return _refuse(
        ImageErrorReason.CORRUPT,
        "the PDF cannot be read: it is damaged (PDFium found no valid document structure); "
        "re-export or re-download it",
        name,
    )


def _too_many(count: int, limit: int, what: str, name: str | None) -> ImageInputError:
    return _refuse(
        ImageErrorReason.TOO_MANY_PAGES,
        f"the PDF has {count} pages, more than {what} ({limit}); choose the pages to send, "
        'e.g. langchain_flexai.pdf_block(path, pages="1-3,7")',
        name,
    )


def _close(document: Any) -> None:
    with PDFIUM_LOCK:
        document.close()


def pdf_page_count(data: bytes, *, name: str | None = None) -> int:
    """The number of pages of a PDF, after the same checks as rendering.

    Raises:
        ImageInputError: ``EMPTY``, ``NOT_A_PDF``, ``CORRUPT``, ``ENCRYPTED``, ``TOO_COMPLEX`` or
            ``TOO_MANY_PAGES`` (more than PDFium opens), naming ``name``.
        ImportError: Without the ``pdf`` extra.
    """
    document = _open(bytes(data), name)
    try:
        with PDFIUM_LOCK:
            count = len(document)
    finally:
        _close(document)
    if count <= 0:
        raise _refuse(ImageErrorReason.EMPTY, "the PDF has no pages; nothing to send", name)
    return int(count)


def iter_pdf_pages(
    data: bytes,
    *,
    name: str | None = None,
    policy: ImagePolicy | None = None,
    pages: str | Sequence[int] | None = None,
    text: bool = False,
) -> Generator[PdfPage, None, None]:
    """Render a PDF's pages one at a time, in the order chosen (all pages by default).

    Args:
        data: The PDF's bytes.
        name: What to call the PDF in errors and labels (a file name), if known.
        policy: The image limits each page meets (default :class:`ImagePolicy`).
        pages: Which pages, numbered from 1: ``"1-3,7"``, ``[1, 2]``, or None for all.
        text: Also extract each page's text layer.

    Raises:
        ImageInputError: The PDF or a page cannot be used (see :func:`pdf_page_count`; a page also
            ``CORRUPT``, ``TOO_COMPLEX`` or ``DECOMPRESSION_BOMB``), naming ``name`` and the page.
        ValueError: ``pages`` does not parse or names a page the PDF does not have.
        ImportError: Without the ``pdf`` extra.
    """
    policy = policy or DEFAULT_POLICY
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    document = _open(data, name)
    try:
        with PDFIUM_LOCK:
            count = len(document)
        if count <= 0:
            raise _refuse(ImageErrorReason.EMPTY, "the PDF has no pages; nothing to send", name)
        chosen = parse_pages(pages, count)
        if len(chosen) > policy.max_pdf_pages:
            raise _too_many(len(chosen), policy.max_pdf_pages, "ImagePolicy.max_pdf_pages", name)
        # What loading each page would make PDFium parse, forms expanded, judged from the bytes.
        loads = PageLoadCosts(data, count)
        for number in chosen:
            yield _page(document, digest, number, count, name, policy, text=text, loads=loads)
    finally:
        _close(document)


def _page(  # noqa: PLR0917 - one page's whole context, private
    document: Any,
    digest: str,
    number: int,
    count: int,
    name: str | None,
    policy: ImagePolicy,
    *,
    text: bool,
    loads: PageLoadCosts,
) -> PdfPage:
    key = ("pdf", digest, number, policy, name, text)
    hit = _CACHE.get(key)
    if isinstance(hit, _CachedPage):
        return PdfPage(number, count, hit.image, hit.text)
    label = page_label(number, count, name)
    try:
        loads.check(number)  # before PDFium loads (parses) the page
        bitmap, page_text = _draw(document, number, policy, text=text)
        out, mime, steps = render(
            bitmap,
            src_format=None,
            orientation=1,
            policy=policy,
            allow_draft=False,
            owned=True,
            explained=True,
        )
    except ImageInputError as exc:
        located = _refuse(exc.reason, f"{label}: {exc.detail}", name)
        raise located from exc.__cause__
    image = PreparedImage(
        url=f"data:{mime};base64,{b64encode_str(out.data)}",
        mime_type=mime,
        width=out.width,
        height=out.height,
        size_bytes=len(out.data),
        transformations=("rendered_page", *steps),
        source=f"{name}#page={number}" if name else None,
        original_mime_type="application/pdf",
        original_width=bitmap.width,
        original_height=bitmap.height,
        _sent=out.data,
    )
    entry = _CachedPage(image, page_text)
    _CACHE.put(key, entry, len(image.url) + len(out.data) + len(page_text) * 4 + 512)
    return PdfPage(number, count, image, page_text)


@dataclass(frozen=True)
class _CachedPage:
    image: PreparedImage
    text: str


def render_size(width: float, height: float, policy: ImagePolicy) -> tuple[int, int]:
    """The pixel size a page of ``width`` x ``height`` points is drawn at.

    The long side at ``max_side``, within ``max_pixels``, each side at least 1.
    """
    scale = min(
        policy.max_side / max(width, height), math.sqrt(policy.max_pixels / (width * height))
    )
    out_w, out_h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    # A sliver's short side is held at 1 pixel; its long side then gives way to max_pixels.
    if out_w * out_h > policy.max_pixels:
        if out_w <= out_h:
            out_h = policy.max_pixels // out_w
        else:
            out_w = policy.max_pixels // out_h
    return out_w, out_h


def _draw(
    document: Any, number: int, policy: ImagePolicy, *, text: bool
) -> tuple[Image.Image, str]:
    pdfium = _pdfium()
    with PDFIUM_LOCK:
        try:
            page = document[number - 1]
        except pdfium.PdfiumError:
            raise _refuse(
                ImageErrorReason.CORRUPT,
                "the page cannot be read (its object is missing or damaged)",
                None,
            ) from None
        try:
            width, height = page.get_size()
            if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
                raise _refuse(ImageErrorReason.CORRUPT, "the page box has no area", None)
            check_box(width, height)
            check_cost(pdfium, page, width * height, policy)
            target = render_size(width, height, policy)
            # A hair under the exact ratio: pypdfium2 rounds the bitmap size up.
            scale = min(target[0] / width, target[1] / height) * (1 - 1e-7)
            bitmap = page.render(scale=scale, rev_byteorder=True, may_draw_forms=True)
            try:
                image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap is freed below
            finally:
                bitmap.close()
            page_text = _text_of(page) if text else ""
        except pdfium.PdfiumError as exc:
            raise _refuse(
                ImageErrorReason.CORRUPT, f"PDFium could not draw the page ({exc})", None
            ) from None
        finally:
            page.close()
    return image, page_text


def _text_of(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        raw = textpage.get_text_bounded()
    finally:
        textpage.close()
    return str(raw).replace("\r\n", "\n").replace("\r", "\n")
