"""Where an image in message content comes from, and the parts content is recognised as.

Knows what content may do with each kind of URL (a valid https URL passes, scheme and host
lower-cased; ``data:`` goes inline; every other scheme, ``file:`` and anything path-like is
refused), how inline data arrives (base64 text, data URLs, raw bytes, base64 mistakenly given as
bytes), ``detail``, and the wording of each refusal. A data URL is classified and split here once;
the split travels with the part (``InlineImage.data_url``) into ``images``, which does not split
it again. URL and data-URL syntax lives in ``_urls.py``; shape recognition in ``_shapes.py``;
pixels in ``images``.

Knows nothing about pixels: it never decodes base64 or looks at image bytes, and it never opens
a file or fetches a URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_flexai._urls import (
    DataUrl,
    classify_url,
    data_url_header,
    parse_data_url,
    url_scheme,
    validate_https_url,
)
from langchain_flexai.content._pdf_parts import (
    PDF_MIME,
    InlinePdf,
    is_pdf_payload,
    pdf_not_fetched,
    short_name,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._prepared import DETAILS

ACCEPTED = (
    "FlexAI chat completions accept only text parts and images (JPEG, PNG, WebP or still GIF) "
    "given as an https URL or a base64 data URL"
)
"""What FlexAI takes, quoted by every refusal so the user knows what to send instead."""


# Strict base64 (the standard alphabet, padded to a multiple of 4 characters): the only bare
# text taken as an inline image for certain.
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]+={0,2}")
# Text that is base64 in spirit (URL-safe letters, broken padding): refused by images.py as
# INVALID_BASE64 with the exact fault, unless it reads as a path (see _is_bare_base64).
_LOOSE_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_\-]+={0,2}")
_BASE64_BYTES = re.compile(rb"[A-Za-z0-9+/_\-=\s]*")
# A bare base64 image shorter than this is not an image anyway; shorter strings are paths.
_MIN_BARE_BASE64 = 64
_MAX_DATA_URL_HEAD = 80


@dataclass(frozen=True, slots=True)
class TextPart:
    """A text part: ``{"type": "text", "text": text}`` on the wire."""

    text: str


@dataclass(frozen=True, slots=True)
class RemoteImage:
    """An https image URL, sent as validated (FlexAI fetches it, this library never does)."""

    url: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class InlineImage:
    """Inline image data to be prepared by :func:`langchain_flexai.images.prepare_inline_image`.

    Attributes:
        data: A data URL, base64 text, or raw bytes, exactly as found (never decoded here).
        declared_mime: The MIME type the block claims, if any (checked against the bytes later).
        detail: ``auto``, ``low`` or ``high`` when the user gave one.
        source: A short description for errors; never the data itself.
        what: The block in words (``"a file block (report.pdf)"``), for a not-an-image refusal.
        must_sniff: True for file and media blocks: they are sent only if the bytes are an image.
        data_url: ``data`` split at its header when it is a well-formed data URL, so that images
            does not classify and split it again; None otherwise (a malformed one goes on whole,
            for images to name the exact fault).
    """

    data: str | bytes
    declared_mime: str | None
    detail: str | None
    source: str
    what: str
    must_sniff: bool = False
    data_url: DataUrl | None = None


Part = TextPart | RemoteImage | InlineImage | InlinePdf


def refuse(reason: ImageErrorReason, detail: str, source: str | None = None) -> ImageInputError:
    """Build an unlocated error (``content.py`` adds the message and part index)."""
    return ImageInputError(detail, reason=reason, source=source)


def unsupported(what: str, source: str | None = None) -> ImageInputError:
    """The refusal for a block FlexAI cannot take, naming what it does take."""
    return refuse(ImageErrorReason.UNSUPPORTED_BLOCK, f"{what} cannot be sent: {ACCEPTED}.", source)


def file_reference(what: str, file_id: object) -> ImageInputError:
    """The refusal for a provider file id."""
    return refuse(
        ImageErrorReason.FILE_REFERENCE,
        f"{what} refers to a provider file id, and FlexAI has no file store; send the image "
        "itself as a base64 data URL or an https URL (langchain_flexai.image_block() builds one "
        "from a file you trust).",
        str(file_id),
    )


# -- URLs and inline data -------------------------------------------------------------------


def detail_of(block: Mapping[str, Any]) -> str | None:
    """The ``detail`` a block carries at its top level or in ``extras``, validated.

    Raises:
        ImageInputError: ``INVALID_DETAIL`` for anything but ``auto``, ``low`` or ``high``.
    """
    value = block.get("detail")
    if value is None:
        extras = block.get("extras")
        if isinstance(extras, Mapping):
            value = extras.get("detail")
    if value is None:
        return None
    if isinstance(value, str) and value in DETAILS:
        return value
    shown = repr(value)
    if len(shown) > 40:  # noqa: PLR2004 - a preview, not a limit
        shown = shown[:40] + "…"
    raise refuse(
        ImageErrorReason.INVALID_DETAIL,
        f"detail must be 'auto', 'low' or 'high', got {shown}.",
    )


def image_from_url(url: object, detail: str | None, *, what: str, mime_type: object = None) -> Part:
    """An image named by URL: https passes, data URLs go inline, anything else is refused.

    Raises:
        ImageInputError: ``UNSUPPORTED_URL`` or ``LOCAL_PATH``; never opens or fetches anything.
    """
    if not isinstance(url, str) or not url.strip():
        raise unsupported(f"{what} without a URL")
    url = url.strip()
    kind = classify_url(url)
    if kind == "https":
        return RemoteImage(validate_https_url(url), detail)
    if kind == "data":
        parsed = _parsed_or_none(url)
        source = describe(url, None, data_url=parsed)
        return InlineImage(url, None, detail, source=source, what=what, data_url=parsed)
    check_not_fetchable(url)
    if _is_bare_base64(url):
        # Bare base64 where a URL belongs (Gemini's translator accepts it too); the bytes decide.
        declared = mime_type if isinstance(mime_type, str) else None
        return InlineImage(url, declared, detail, source=describe(url, declared), what=what)
    raise _local_path(url)


def _is_bare_base64(text: str) -> bool:
    """Whether text where a URL belongs is taken as base64 (the bytes then decide) or a path.

    Strict base64 of image size is base64, even with ``/`` in it (JPEG's starts ``/9j/``). Other
    text in the base64 letters goes on too, for images.py to name the exact fault (truncated,
    URL-safe), unless no base64 can be it: ``/`` belongs only to the standard alphabet and
    ``-``/``_`` only to the URL-safe one, so text holding both, such as
    ``photos/2024/IMG_0001_final``, is a path.
    """
    if len(text) < _MIN_BARE_BASE64:
        return False
    if len(text) % 4 == 0 and _BASE64_TEXT.fullmatch(text):
        return True
    mixed_alphabets = "/" in text and ("-" in text or "_" in text)
    return not mixed_alphabets and _LOOSE_BASE64_TEXT.fullmatch(text) is not None


def check_not_fetchable(url: str) -> None:
    """Refuse a URL the library would have to fetch or open (anything but https and data).

    Raises:
        ImageInputError: ``LOCAL_PATH`` for ``file:`` URLs, ``UNSUPPORTED_URL`` for other schemes.
    """
    scheme = url_scheme(url)
    if scheme is None or scheme in {"https", "data"}:
        return
    if scheme == "file":
        raise _local_path(url)
    raise refuse(
        ImageErrorReason.UNSUPPORTED_URL,
        f"{scheme}:// URLs cannot be sent: image URLs must be https:// or a base64 data: URL, "
        "and the chat model never fetches a URL named in message content. Fetch it in your own "
        "code and pass the bytes to langchain_flexai.image_block().",
        url,
    )


def _local_path(url: str) -> ImageInputError:
    return refuse(
        ImageErrorReason.LOCAL_PATH,
        "a local path or file:// URL cannot be sent: the chat model never opens a file named in "
        "message content. Load files you trust with langchain_flexai.image_block(path).",
        url,
    )


def inline_image(data: object, mime_type: object, detail: str | None, *, what: str) -> Part:
    """Inline image data from an image block; the bytes are checked later by images.py."""
    payload = payload_of(data, what)
    declared = mime_type if isinstance(mime_type, str) and mime_type else None
    parsed = _data_url_or_none(payload)
    source = describe(payload, declared, data_url=parsed)
    return InlineImage(payload, declared, detail, source=source, what=what, data_url=parsed)


def file_data(
    data: object, mime_type: object, detail: str | None, what: str, *, name: object = None
) -> Part:
    """Inline data from a file or media block: a PDF (sent as its pages), an image, or refused."""
    declared = mime_type if isinstance(mime_type, str) and mime_type else None
    if declared is not None and not _may_be_image(declared):
        raise unsupported(what)
    payload = payload_of(data, what)
    parsed = _data_url_or_none(payload)
    source = describe(payload, declared, data_url=parsed)
    # A file's data URL may declare any type (application/pdf...); images.py takes only image
    # data URLs, so a non-image one is handed over as its base64 payload for the bytes to judge.
    # A malformed one goes on whole, for images.py to refuse with the exact fault.
    if parsed is not None and parsed.is_base64 and not parsed.mime.startswith("image/"):
        if parsed.mime and not _may_be_image(parsed.mime):
            raise unsupported(what, source)
        declared = declared or parsed.mime or None
        payload = parsed.payload
        parsed = None
    # Core relabels every OpenAI file block as application/pdf, so a non-image label says nothing
    # about the bytes; only an image/* label is passed on as a claim to check.
    claim = declared if declared is not None and declared.startswith("image/") else None
    if claim is None and is_pdf_payload(payload):
        # The bytes decide here too: a PDF is sent as its pages, whatever the label said.
        return InlinePdf(payload, short_name(name), detail, source)
    # Without an image/* claim, bytes that are not an image mean "wrong kind of file", not
    # "broken image": the refusal then says what FlexAI accepts.
    return InlineImage(
        payload,
        claim,
        detail,
        source=source,
        what=what,
        must_sniff=claim is None,
        data_url=parsed,
    )


def file_url(
    url: object, mime_type: object, detail: str | None, what: str, *, name: object = None
) -> Part:
    """A file or media block named by URL: an image only when it says so; a PDF only inline."""
    declared = mime_type if isinstance(mime_type, str) and mime_type else None
    if isinstance(url, str) and classify_url(url.strip()) == "data":
        return file_data(url.strip(), declared, detail, what, name=name)
    named_pdf = isinstance(url, str) and url.strip().lower().split("?")[0].endswith(".pdf")
    if (declared is not None and declared.lower() == PDF_MIME) or named_pdf:
        raise pdf_not_fetched(what, url.strip() if isinstance(url, str) else None)
    if isinstance(url, str):
        check_not_fetchable(url.strip())
    if declared is None or not declared.startswith("image/"):
        # Without an image/* label the only way to know would be to fetch it, which we never do.
        raise unsupported(what)
    return image_from_url(url, detail, what=what)


def payload_of(data: object, what: str) -> str | bytes:
    """Data as found, with base64 text that arrived as bytes turned back into text (row 10).

    Raises:
        ImageInputError: ``INVALID_BASE64`` when the data is neither text nor bytes.
    """
    if isinstance(data, str):
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        # ``base64.b64encode(...)`` without ``.decode()`` is the usual mistake; raw image bytes
        # always carry non-alphabet bytes in their header, so the two cannot be confused.
        if raw.startswith(b"data:") or (raw and _BASE64_BYTES.fullmatch(raw)):
            return raw.decode("ascii", errors="replace")
        return raw
    raise refuse(
        ImageErrorReason.INVALID_BASE64,
        f"{what} carries {type(data).__name__} data; expected base64 text or bytes.",
    )


def describe(
    payload: str | bytes, mime_type: str | None, *, data_url: DataUrl | None = None
) -> str:
    """A short label for inline data in errors: never the data itself.

    ``data_url`` is ``payload`` already parsed, when it is a data URL (its header is then not
    looked for again).
    """
    if isinstance(payload, bytes):
        return f"<{len(payload)} bytes{' ' + mime_type if mime_type else ''}>"
    if data_url is not None or classify_url(payload) == "data":
        head = (
            data_url_header(payload)
            if data_url is None
            # The header is what precedes the payload and its ',' (the payload is never altered).
            else payload[: len(payload) - len(data_url.payload) - 1]
        )
        if head is None or len(head) > _MAX_DATA_URL_HEAD:
            head = "data:"
        return f"{head},…"
    return f"<base64{' ' + mime_type if mime_type else ''}, {len(payload)} chars>"


def _data_url_or_none(payload: str | bytes) -> DataUrl | None:
    """``payload`` parsed when it is a well-formed data URL, else None (nothing is decoded)."""
    if isinstance(payload, str) and classify_url(payload) == "data":
        return _parsed_or_none(payload)
    return None


def _parsed_or_none(url: str) -> DataUrl | None:
    try:
        return parse_data_url(url)
    except ImageInputError:
        return None


def _may_be_image(mime: str) -> bool:
    mime = mime.lower()
    return mime.startswith("image/") or mime in {"application/pdf", "application/octet-stream"}
