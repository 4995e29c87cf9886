"""PDFs in message content: which parts are PDFs, and the wire parts their pages become.

FlexAI's vision models read images only, so a PDF carried inline (a v1 or v0 ``file`` block, an
OpenAI ``file`` part, an Anthropic ``document``, a ``data:application/pdf`` URL) is sent as one
image part per page, each after a text part naming the file and the page ("report.pdf, page 2 of
5"), in place and in page order. A PDF named by an https URL, a provider file id or a path is
refused: the chat model never fetches or opens what content names; :func:`pdf_block` is the door.

Knows how a PDF is recognised (a declared ``application/pdf`` or ``%PDF-`` at the start of the
bytes: only the first KiB is decoded to look), the refusals' wording, and the count of pages a
request spends (each page is an image under ``ImagePolicy.max_images``). Rendering belongs to
:mod:`langchain_flexai.images._pdf`; roles, positions and the request-wide count to
``_messages.py``. Never opens a file or fetches a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._b64 import Base64Error, b64decode_strict
from langchain_flexai.images._cache import uncached_work
from langchain_flexai.images._pdf import iter_pdf_pages, page_label, pdf_page_count
from langchain_flexai.images._pdf_structure import PDF_HEADER_WINDOW, looks_like_pdf
from langchain_flexai.images._policy import ImagePolicy

__all__ = [
    "PDF_MIME",
    "InlinePdf",
    "count_pages",
    "is_pdf_payload",
    "pdf_not_fetched",
    "pdf_parts",
    "pdf_reference",
    "too_many_pages",
]

PDF_MIME = "application/pdf"

_HEAD_CHARS = (PDF_HEADER_WINDOW + 8) // 3 * 4 + 4  # base64 characters covering the header window
_MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class InlinePdf:
    """A PDF carried in message content, to be sent as its pages.

    Attributes:
        data: Base64 text or raw bytes, as found (decoded when the pages are counted).
        name: The file name the block gives, if any (shown to the model in each page's label).
        detail: ``auto``, ``low`` or ``high`` for every page image, when the user gave one.
        source: A short description for errors; never the data itself.
    """

    data: str | bytes
    name: str | None
    detail: str | None
    source: str


def short_name(name: object) -> str | None:
    """A block's file name fit for a label: text, at most 120 characters (its end kept)."""
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    return name if len(name) <= _MAX_NAME else "…" + name[-_MAX_NAME:]


def is_pdf_payload(payload: str | bytes) -> bool:
    """Whether inline data (base64 text or raw bytes) starts like a PDF; decodes only its head."""
    if isinstance(payload, bytes):
        return looks_like_pdf(payload[: PDF_HEADER_WINDOW + 5])
    head = "".join(payload[: _HEAD_CHARS + 64].split())[:_HEAD_CHARS]
    head = head[: len(head) // 4 * 4]
    try:
        return looks_like_pdf(b64decode_strict(head))
    except Base64Error:
        return False


def pdf_not_fetched(what: str, url: str | None) -> ImageInputError:
    """The refusal for a PDF named by URL or path: content never fetches or opens it."""
    return ImageInputError(
        f"{what} names a PDF by URL or path, and the chat model never fetches a URL or opens a "
        "file named in message content. Read it in your own code and send its pages with "
        'langchain_flexai.pdf_block(path_or_bytes, pages="1-3") (or embed it as base64).',
        reason=ImageErrorReason.LOCAL_PATH
        if url is None or not url.lower().startswith(("https:", "http:"))
        else ImageErrorReason.UNSUPPORTED_URL,
        source=url,
    )


def pdf_reference(what: str, file_id: object) -> ImageInputError:
    """The refusal for a PDF given as a provider file id."""
    return ImageInputError(
        f"{what} refers to a provider file id, and FlexAI has no file store; send the PDF's "
        'pages with langchain_flexai.pdf_block(path_or_bytes, pages="1-3") (or embed it as '
        "base64).",
        reason=ImageErrorReason.FILE_REFERENCE,
        source=str(file_id),
    )


def _decoded(part: InlinePdf, policy: ImagePolicy) -> bytes:
    if isinstance(part.data, bytes):
        raw = part.data
    else:
        at_least = (len(part.data) - part.data.count("\n")) // 4 * 3 - 2
        if at_least > policy.max_input_bytes:
            raise ImageInputError(
                f"the PDF holds at least {at_least} bytes, more than the policy's "
                f"{policy.max_input_bytes} (ImagePolicy.max_input_bytes)",
                reason=ImageErrorReason.TOO_LARGE,
                source=part.name or part.source,
            )
        try:
            raw = b64decode_strict(part.data)
        except Base64Error as exc:
            raise ImageInputError(
                f"invalid base64 PDF data: {exc}",
                reason=ImageErrorReason.INVALID_BASE64,
                source=part.name or part.source,
            ) from None
    if len(raw) > policy.max_input_bytes:
        raise ImageInputError(
            f"the PDF has {len(raw)} bytes, more than the policy's {policy.max_input_bytes} "
            "(ImagePolicy.max_input_bytes)",
            reason=ImageErrorReason.TOO_LARGE,
            source=part.name or part.source,
        )
    return raw


def count_pages(part: InlinePdf, policy: ImagePolicy) -> tuple[bytes, int]:
    """The PDF's bytes and page count, after every check that needs no rendering.

    Raises:
        ImageInputError: Unlocated; bad base64, too large, or a bad PDF (see ``pdf_page_count``).
        CacheMiss: On the event loop's attempt (``header_work_only``): PDFium's work is never
            done there.
    """
    uncached_work()
    raw = _decoded(part, policy)
    return raw, pdf_page_count(raw, name=part.name or part.source)


def too_many_pages(part: InlinePdf, count: int, used: int, policy: ImagePolicy) -> ImageInputError:
    """The refusal for a PDF whose pages do not fit in the request's image allowance."""
    named = part.name or "the PDF"
    left = max(0, policy.max_images - used)
    return ImageInputError(
        f"{named} has {count} pages, and each page is sent as an image: this request may carry "
        f"{policy.max_images} images (ImagePolicy.max_images), {used} already taken by earlier "
        f"parts, so at most {left} pages fit. Choose the pages in your own code, e.g. "
        'langchain_flexai.pdf_block(pdf_bytes, pages="1-3,7"), or raise '
        "ImagePolicy.max_images.",
        reason=ImageErrorReason.TOO_MANY_PAGES,
        source=part.name or part.source,
    )


def pdf_parts(
    part: InlinePdf, data: bytes, policy: ImagePolicy
) -> tuple[list[dict[str, Any]], list[tuple[str, ...]]]:
    """The wire parts of a PDF, label then image per page, and each page image's transformations.

    Raises:
        ImageInputError: Unlocated; a page that cannot be rendered.
    """
    parts: list[dict[str, Any]] = []
    done: list[tuple[str, ...]] = []
    for page in iter_pdf_pages(data, name=part.name, policy=policy):
        parts.append({"type": "text", "text": page_label(page.number, page.count, part.name)})
        parts.append(page.image.to_openai_part(part.detail))
        done.append(page.image.transformations)
    return parts, done
