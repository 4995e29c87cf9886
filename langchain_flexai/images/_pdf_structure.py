"""What a PDF's bytes say before PDFium parses them: header, end, encryption, page counts, streams.

PDFium is lenient and does its work eagerly where it matters for cost: opening a document reads
the cross-reference table and the page tree, and loading a page inflates and parses every content
stream of that page before a pixel is drawn. A few kilobytes of Flate data can inflate to hundreds
of megabytes of drawing operators (PDFium parses about 4 MB of them a second), so the streams are
walked here first, at C speed (``re`` and ``zlib``), and a stream that inflates past
:data:`MAX_STREAM_BYTES` is refused as ``TOO_COMPLEX`` without PDFium ever seeing it.

Knows the PDF syntax needed for that (``%PDF-`` within the first KiB, ``%%EOF`` near the end,
``stream``/``endstream`` and the filter named in a stream's dictionary, ``/Encrypt``, ``/Count``)
and nothing else: it never builds objects, follows references or decides what a page looks like
(PDFium does, in :mod:`langchain_flexai.images._pdf`). Images and fonts are skipped: an image's
cost is its pixel count, checked per page from PDFium's own reading of its size; a font file is
not drawn as such. A leaf: imports only the errors.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from langchain_flexai.errors import ImageErrorReason, ImageInputError

__all__ = ["MAX_STREAM_BYTES", "PDF_HEADER_WINDOW", "PdfOutline", "looks_like_pdf", "outline"]

PDF_HEADER_WINDOW = 1024
"""Where ``%PDF-`` must start (ISO 32000 lets up to 1 KiB of junk precede it; PDFium agrees)."""

_EOF_WINDOW = 4096
# The standard wants %%EOF in the last 1 KiB; tools that append padding (mail gateways, some
# scanners) push it further, so 4 KiB. A file without it was cut short: PDFium would repair it and
# show what it could, silently dropping pages.

MAX_STREAM_BYTES = 3 * 1024 * 1024
"""Most bytes one content, form or object stream may inflate to (3 MiB). Real pages carry
10-500 KB of operators; PDFium parses drawing operators at about 4 MB a second, so this caps the
parse of one stream at under a second in the worst case (a page that dense is then refused by
its object count before it is drawn)."""

_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_DICT_LOOKBACK = 2048  # a stream dictionary is short; a filter name is found within this window
_SKIPPED_KINDS = re.compile(rb"/Subtype\s*/(?:Image|Type1C|CIDFontType0C|OpenType)|/Length[123]\b")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
_COUNT = re.compile(rb"/Count\s+(-?\d{1,12})")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PdfOutline:
    """What the walk found."""

    encrypted: bool
    """The trailer names an ``/Encrypt`` dictionary (PDFium then asks for a password)."""
    largest_count: int | None
    """The largest ``/Count`` a page-tree node claims (None when no node is visible in the raw
    bytes, e.g. inside a compressed object stream)."""


def looks_like_pdf(head: bytes) -> bool:
    """Whether ``%PDF-`` starts within the first KiB of ``head`` (its first bytes suffice)."""
    return b"%PDF-" in head[: PDF_HEADER_WINDOW + 5]


def _refuse(reason: ImageErrorReason, detail: str, name: str | None) -> ImageInputError:
    return ImageInputError(detail, reason=reason, source=name)


def outline(data: bytes, name: str | None) -> PdfOutline:
    """Check a PDF's bytes structurally and say what PDFium's errors would not.

    Raises:
        ImageInputError: ``EMPTY`` (no bytes), ``NOT_A_PDF`` (no header), ``CORRUPT`` (no
            ``%%EOF``: truncated), ``TOO_COMPLEX`` (a stream inflating past the cap).
    """
    if not data:
        raise _refuse(ImageErrorReason.EMPTY, "the PDF data is empty (0 bytes)", name)
    if not looks_like_pdf(data):
        raise _refuse(
            ImageErrorReason.NOT_A_PDF,
            "the data is not a PDF (no '%PDF-' header in its first 1024 bytes); for an image use "
            "langchain_flexai.image_block()",
            name,
        )
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise _refuse(
            ImageErrorReason.CORRUPT,
            "the PDF is truncated: it does not end with '%%EOF' (an interrupted download or copy?);"
            " get the complete file",
            name,
        )
    _check_streams(data, name)
    counts = [int(m.group(1)) for m in _COUNT.finditer(data)]
    return PdfOutline(
        encrypted=b"/Encrypt" in data,
        largest_count=max(counts) if counts else None,
    )


def _check_streams(data: bytes, name: str | None) -> None:
    position = 0
    while (match := _STREAM.search(data, position)) is not None:
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            end = len(data)
        position = end
        head = data[max(0, match.start() - _DICT_LOOKBACK) : match.start()]
        # The dictionary is what follows the last "obj" before the stream keyword.
        head = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head
        if not _FLATE.search(head) or _SKIPPED_KINDS.search(head):
            continue
        _inflated_size(data, start, end, name)


def _inflated_size(data: bytes, start: int, end: int, name: str | None) -> int:
    """Inflate ``data[start:end]`` in bounded steps; refuse once it passes the cap."""
    inflater = zlib.decompressobj()
    total = 0
    pending: bytes | memoryview = memoryview(data)[start:end]
    try:
        while pending:
            out = inflater.decompress(pending, _CHUNK)
            total += len(out)
            if total > MAX_STREAM_BYTES:
                raise _refuse(
                    ImageErrorReason.TOO_COMPLEX,
                    f"a stream of the PDF inflates to more than {MAX_STREAM_BYTES} bytes of "
                    f"drawing instructions from {end - start} bytes (a PDF bomb, or a drawing far "
                    "beyond any page's detail); it is not rendered. Export the pages as images "
                    "with a tool you trust",
                    name,
                )
            pending = inflater.unconsumed_tail
            if inflater.eof or not out:
                break
    except zlib.error:
        return total  # damaged data: PDFium decides what to make of it (an empty stream, usually)
    return total
