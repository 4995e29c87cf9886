"""PDF files in the loader: one prepared page at a time, and each page as a Document.

Knows how a PDF file found by the walk becomes a stream of page items (``LoadedPage`` per page
rendered, ``SkippedImage`` with its page for a page that could not be), which pages are chosen
(``pages=``), what a page Document holds (the image metadata plus ``page`` and ``page_count``;
the page's text layer, the model's description or a stand-in as ``page_content``), and how many
items a PDF will yield (for progress totals). Rendering is :mod:`langchain_flexai.images._pdf`'s;
this module knows no pixels, and nothing about walking, threads or models.

Why pages are expanded where results leave the pipeline, on the consuming thread, instead of on
the worker threads that prepare image files: PDFium is not thread-safe, and one page is rendered,
handed on and dropped before the next, so memory does not grow with the page count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from langchain_core.documents import Document

from langchain_flexai._loader._documents import image_metadata
from langchain_flexai._urls import classify_url
from langchain_flexai.describe._records import LoadedImage, SkippedImage
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._cache import not_stored
from langchain_flexai.images._doors import read_image_file
from langchain_flexai.images._pdf import PdfPage, iter_pdf_pages, parse_pages, pdf_page_count
from langchain_flexai.images._policy import ImagePolicy

PDF_SUFFIX = ".pdf"
PDF_MIME = "application/pdf"
_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024
"""PDF readers accept the ``%PDF-`` header anywhere in the first 1024 bytes."""

PageSelection = str | Sequence[int] | None
"""Which pages of each PDF: ``"1-3,7"``, ``[1, 2, 3, 7]`` or None (every page)."""


@dataclass(frozen=True)
class PdfFile:
    """A PDF found by the walk, or fetched: expanded into pages where results leave the pipeline."""

    path: str
    """The file's path; for a fetched PDF, its URL without the query string."""
    file_size: int
    data: bytes | None = None
    """The bytes of a PDF that was fetched; None: the file at ``path`` is read when expanded."""


@dataclass(frozen=True)
class LoadedPage(LoadedImage):
    """A rendered PDF page: its image, the PDF's size on disk, its number, the page count, text."""

    page_count: int = 0
    text: str = ""
    """The page's text layer ("" when it has none)."""


def is_pdf_name(path: str) -> bool:
    """Whether a path names a PDF by its suffix (any case)."""
    return path.lower().endswith(PDF_SUFFIX)


def names_a_pdf(item: str) -> bool:
    """Whether a command-line input is a PDF (one record per page, never ``--stream``'s).

    A URL whose path ends in ``.pdf``; a file named so or starting with the ``%PDF-`` header. A
    URL is never opened as a path.
    """
    if classify_url(item) != "path":
        return is_pdf_name(urlsplit(item).path)
    return is_pdf_name(item) or starts_like_pdf(item)


def looks_like_pdf(data: bytes) -> bool:
    """Whether ``data`` starts like a PDF: the ``%PDF-`` header within its first 1024 bytes."""
    return _MAGIC in data[:_MAGIC_WINDOW]


def starts_like_pdf(path: str) -> bool:
    """Whether the file's first 1024 bytes hold the ``%PDF-`` header (False if unreadable)."""
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - str paths throughout
            return looks_like_pdf(handle.read(_MAGIC_WINDOW))
    except OSError:
        return False


def counts_as_pdf(path: str, image_suffixes: frozenset[str]) -> bool:
    """Whether the walk's ``path`` will be expanded into pages, as ``prepare_file`` decides.

    A ``.pdf`` name is a PDF; so is a file whose name has no image suffix (it was named on its
    own, without one) and whose header is ``%PDF-``. Files with an image suffix are not opened.
    """
    if is_pdf_name(path):
        return True
    return os.path.splitext(path)[1].lower() not in image_suffixes and starts_like_pdf(path)  # noqa: PTH122


def iter_pages(
    pdf: PdfFile, policy: ImagePolicy, max_file_bytes: int, pages: PageSelection = None
) -> Iterator[LoadedPage | SkippedImage]:
    """The chosen pages of ``pdf``, rendered one at a time, in page order.

    A file that cannot be read or opened (encrypted, corrupt, no pages, too many pages, pages
    chosen beyond its end: ``TOO_MANY_PAGES``, no ``pdf`` extra: ``MISSING_EXTRA``) is one
    ``SkippedImage`` without a page; a page that cannot be rendered is a ``SkippedImage`` with
    its page, and the pages after it still come. The PDF is opened once, unless a page fails.
    """
    if pdf.data is not None:
        data = pdf.data
    else:
        try:
            data = read_image_file(pdf.path, max_file_bytes)
        except ImageInputError as error:
            yield SkippedImage(pdf.path, error)
            return
    wanted: PageSelection = pages
    while True:
        last: PdfPage | None = None
        try:
            for page in _pages_not_stored(data, pdf.path, policy, wanted):
                last = page
                yield _loaded(page, pdf.path, pdf.file_size)
        except ImageInputError as error:  # (before ValueError: it is one)
            rest = _after_failure(data, pdf.path, wanted, last, error)
            if rest is None:  # the file itself, not a page
                yield SkippedImage(pdf.path, error)
                return
            # The page after the last one rendered failed; go on with the ones after it.
            yield SkippedImage(pdf.path, error, page=rest[0])
            if len(rest) > 1:
                wanted = rest[1:]
                continue
        except ValueError as error:  # a page selection that names no page of this document
            yield SkippedImage(pdf.path, _refused(ImageErrorReason.TOO_MANY_PAGES, error, pdf.path))
        except ImportError as error:  # the pdf extra is missing: every PDF says so, nothing stops
            yield SkippedImage(pdf.path, _refused(ImageErrorReason.MISSING_EXTRA, error, pdf.path))
        return


def _after_failure(
    data: bytes, path: str, wanted: PageSelection, last: PdfPage | None, error: ImageInputError
) -> list[int] | None:
    """The pages from the one that failed on, or None when the PDF itself cannot be used."""
    if error.reason is ImageErrorReason.TOO_MANY_PAGES:  # the whole choice: no page is at fault
        return None
    if last is not None:
        chosen = parse_pages(wanted, last.count)
        return chosen[chosen.index(last.number) + 1 :]
    try:
        return parse_pages(wanted, pdf_page_count(data, name=path))
    except (ImageInputError, ValueError):
        return None


def is_pdf_blob(mimetype: str | None, name: str | None) -> bool:
    """Whether a Blob is a PDF, by its MIME type or its name."""
    return mimetype == PDF_MIME or is_pdf_name(name or "")


def _pages_not_stored(
    data: bytes, name: str | None, policy: ImagePolicy, pages: str | Sequence[int] | None
) -> Iterator[PdfPage]:
    """The pages of a PDF file, rendered without filling the image cache.

    A loader reads each page once: keeping it would grow memory with the page count (see
    ``images._cache.not_stored``).
    """
    with closing(iter_pdf_pages(data, name=name, policy=policy, pages=pages, text=True)) as each:
        while True:
            with not_stored():
                page = next(each, None)
            if page is None:
                return
            yield page


def data_pages(data: bytes, name: str | None, policy: ImagePolicy) -> Iterator[LoadedPage]:
    """Every page of a PDF held in memory (a parser's Blob), rendered one at a time.

    Raises:
        ImageInputError: The PDF cannot be opened, or a page cannot be rendered.
    """
    for page in _pages_not_stored(data, name, policy, None):
        yield _loaded(page, name, len(data))


def _refused(reason: ImageErrorReason, error: Exception, path: str) -> ImageInputError:
    refused = ImageInputError(str(error), reason=reason, source=path)
    refused.__cause__ = error
    return refused


def _loaded(page: PdfPage, source: str | None, file_size: int) -> LoadedPage:
    # The renderer names a page "report.pdf#page=2"; a Document's source is the file itself
    # (the page is in its own field), so it opens again and groups with its other pages.
    image = replace(page.image, source=source)
    return LoadedPage(image, file_size, page.number, page.count, page.text)


def page_total(path: str, max_file_bytes: int, pages: PageSelection = None) -> int:
    """How many items :func:`iter_pages` yields for ``path`` (1 for a file it cannot open)."""
    try:
        data = read_image_file(path, max_file_bytes)
        return len(parse_pages(pages, pdf_page_count(data, name=path)))
    except (ImageInputError, ValueError, ImportError):
        return 1


def page_stand_in(page: LoadedPage) -> str:
    """``page_content`` for a page without a text layer nor a description.

    E.g. ``"report.pdf, page 2 of 5: no text layer (sent as PNG 1583×2048)"``.
    """
    name = os.path.basename(page.image.source or "") or "(unnamed)"  # noqa: PTH119 - str paths
    sent = (page.image.mime_type or "image").rsplit("/", 1)[-1].upper()
    return (
        f"{name}, page {page.page} of {page.page_count}: no text layer "
        f"(sent as {sent} {page.image.width}×{page.image.height})"
    )


def page_content(page: LoadedPage, description: str | None) -> str:
    """The description (when asked for), then the text layer; a stand-in when there is neither.

    The text layer is kept after a description so a retriever still matches the page's words.
    """
    text = page.text if page.text.strip() else ""
    if description is not None:
        return f"{description}\n\n{text}" if text else description
    return text or page_stand_in(page)


def page_document(page: LoadedPage, *, description: str | None, include_image: bool) -> Document:
    """A Document for one page: the image metadata, ``page``, ``page_count``; text as above."""
    metadata: dict[str, Any] = image_metadata(
        page.image, page.file_size, include_image=include_image
    )
    metadata["page"] = page.page
    metadata["page_count"] = page.page_count
    return Document(page_content=page_content(page, description), metadata=metadata)
