"""The explicit door for PDFs: :func:`pdf_block` turns a PDF the developer trusts into parts.

Knows the sources it takes (a path, bytes, a binary file object), reading a file through the
bounded read of :func:`langchain_flexai.images.read_image_file`, and the parts a page becomes (a
text label naming the file and page, then the page image). Message content never reaches this
door: content refuses PDFs named by path or URL and points here instead. Knows nothing about
rendering (:mod:`langchain_flexai.images._pdf`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import read_image_file
from langchain_flexai.images._pdf import iter_pdf_pages, page_label
from langchain_flexai.images._policy import MAX_FILE_BYTES, ImagePolicy

__all__ = ["pdf_block", "read_pdf_source"]


def read_pdf_source(source: object, name: str | None = None) -> tuple[bytes, str | None]:
    """A PDF's bytes and its name from a path, bytes or a binary file object.

    Raises:
        ImageInputError: ``UNREADABLE`` or ``TOO_LARGE`` for a file (bounded read, at most
            :data:`MAX_FILE_BYTES`), ``UNSUPPORTED_SOURCE`` for anything else.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), name
    if isinstance(source, str | os.PathLike):
        path = Path(os.fspath(source)).expanduser()
        return read_image_file(path, MAX_FILE_BYTES), name or path.name
    read = getattr(source, "read", None)
    if callable(read):
        handle_name = getattr(source, "name", None)
        label = name or (Path(handle_name).name if isinstance(handle_name, str) else None)
        try:
            raw = read()
        except OSError as exc:
            raise ImageInputError(
                f"cannot read the file object: {exc}",
                reason=ImageErrorReason.UNREADABLE,
                source=label,
            ) from exc
        if not isinstance(raw, bytes | bytearray):
            raise ImageInputError(
                "the file object returned text, not bytes; open it in binary mode ('rb')",
                reason=ImageErrorReason.UNSUPPORTED_SOURCE,
                source=label,
            )
        return bytes(raw), label
    raise ImageInputError(
        f"cannot read a PDF from a {type(source).__name__}; pass a path, bytes or a binary file "
        "object",
        reason=ImageErrorReason.UNSUPPORTED_SOURCE,
    )


def pdf_block(
    path_or_bytes: str | os.PathLike[str] | bytes | Any,
    *,
    pages: str | Sequence[int] | None = None,
    policy: ImagePolicy | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """Content parts for a PDF you trust: per page, a text label then the page image.

    Args:
        path_or_bytes: A path (read with a size cap, never a FIFO or a device), the PDF's bytes,
            or a binary file object.
        pages: Which pages, numbered from 1 (``"1-3,7"``, ``[2, 4]``); all of them by default.
        policy: Image limits for the rendered pages (default :class:`ImagePolicy`).
        name: What to call the file in labels and errors (default: the path's file name).

    Returns:
        LangChain v1 blocks in page order: ``{"type": "text", "text": "report.pdf, page 1 of 5"}``
        then ``{"type": "image", "base64": ..., "mime_type": ...}``, for each chosen page. Put them
        in a ``HumanMessage``'s content list, with your question.

    Raises:
        ImageInputError: The file cannot be read, is no usable PDF, or a page cannot be rendered.
        ValueError: ``pages`` does not parse or names a page the PDF does not have.
        ImportError: Without the ``pdf`` extra (``pip install "langchain-flexai[pdf]"``).
    """
    data, label = read_pdf_source(path_or_bytes, name)
    parts: list[dict[str, Any]] = []
    for page in iter_pdf_pages(data, name=label, policy=policy, pages=pages):
        parts.append({"type": "text", "text": page_label(page.number, page.count, label)})
        parts.append(page.image.to_content_block())
    return parts
