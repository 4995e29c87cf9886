"""Errors raised for image input that cannot be made valid for FlexAI, and for a bad setup.

Knows nothing about pixels or messages: it only carries what went wrong, where and from what.
"""

from __future__ import annotations

import re
from enum import Enum

_URL_PREVIEW_CHARS = 48
_PATH_PREVIEW_CHARS = 160


class ImageErrorReason(str, Enum):
    """Machine-readable reasons an image or content part was refused."""

    EMPTY = "empty"
    """Zero bytes of image data."""
    NOT_AN_IMAGE = "not_an_image"
    """The bytes are no image at all (text, an archive, a PDF document)."""
    CORRUPT = "corrupt"
    """The bytes start like an image but cannot be decoded (truncated, damaged)."""
    UNSUPPORTED_FORMAT = "unsupported_format"
    """An image in a format this library does not convert (PSD, EPS, SVG, DDS, ...), named."""
    MISSING_EXTRA = "missing_extra"
    """The format needs an optional extra; the message names it."""
    DECOMPRESSION_BOMB = "decompression_bomb"
    """More pixels than the policy's decode limit; refused without decoding."""
    TOO_LARGE = "too_large"
    """The image cannot be brought within the policy's byte limit, or its input is over
    ``ImagePolicy.max_input_bytes``."""
    TOO_COMPLEX = "too_complex"
    """A file whose structure asks for more decoding work than any real image (thousands of
    scans, chunks, segments or blocks); refused before decoding."""
    ANIMATED = "animated"
    """An animated image while the policy says animated images are an error."""
    INVALID_BASE64 = "invalid_base64"
    """Base64 data that is not strictly valid."""
    INVALID_DATA_URL = "invalid_data_url"
    """A malformed ``data:`` URL."""
    UNSUPPORTED_URL = "unsupported_url"
    """A URL scheme FlexAI does not accept (only https and data URLs are)."""
    LOCAL_PATH = "local_path"
    """A local path or file URL named in message content; the chat model never opens one."""
    FILE_REFERENCE = "file_reference"
    """A provider file id; FlexAI has no file store."""
    UNSUPPORTED_BLOCK = "unsupported_block"
    """A content block FlexAI chat completions cannot take (audio, video, PDF, ...)."""
    INVALID_DETAIL = "invalid_detail"
    """A ``detail`` other than ``auto``, ``low`` or ``high``."""
    TOO_MANY_IMAGES = "too_many_images"
    """More images in one request than the policy allows."""
    IMAGE_NOT_ALLOWED = "image_not_allowed"
    """An image in a message role that cannot carry one (system, assistant, or tool by choice)."""
    UNREADABLE = "unreadable"
    """A file or stream given through a trusted door could not be read."""
    UNSUPPORTED_SOURCE = "unsupported_source"
    """An object ``prepare_image`` does not know how to read."""


# What must never reach an error message raw: C0 controls (line breaks forge log lines), DEL, C1
# controls (U+0085 is a line break too), the Unicode line and paragraph separators, and the bidi
# embeddings, overrides, isolates and marks (they reorder what a reader sees).
_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"  # noqa: PLR2004


def escape_text(text: str) -> str:
    r"""``text`` on one line with nothing that can forge a log line or reorder what is read.

    Control characters, line separators and bidi controls become ``repr``-style escapes
    (``\n``, ``\x1b``, ``\u202e``); everything else, backslashes included, is kept, so
    paths and ordinary text read as written. Every message built from text a user, a file or a
    server supplied goes through here. Idempotent: escaped text has nothing left to escape.
    """
    return _UNSAFE_TEXT.sub(_escape_char, text)


def preview_source(source: str) -> str:
    """Shorten a source for an error message; never echo a whole base64 blob.

    Data URLs keep only their header; other URLs their first characters (the host and path
    start are what identify them); paths their end, where the file name is.
    """
    if source.startswith("data:"):
        head = source.split(",", 1)[0]
        return f"{head},…"
    if "://" in source[:16]:
        if len(source) > _URL_PREVIEW_CHARS:
            return source[:_URL_PREVIEW_CHARS] + "…"
        return source
    if len(source) > _PATH_PREVIEW_CHARS:
        return "…" + source[-_PATH_PREVIEW_CHARS:]
    return source


class ImageInputError(ValueError):
    """An image, or a content part, that cannot be sent to FlexAI as it is.

    Attributes:
        reason: What went wrong, as an :class:`ImageErrorReason`.
        source: A path or the first characters of a URL (never a whole base64 blob), if known.
        message_index: Index of the message in the request, when raised from message content.
        part_index: Index of the content part inside that message.
        detail: The human explanation, without position or source.
    """

    def __init__(
        self,
        detail: str,
        *,
        reason: ImageErrorReason,
        source: str | None = None,
        message_index: int | None = None,
        part_index: int | None = None,
    ) -> None:
        """Build the error; the full text is composed from the parts."""
        self.detail = detail
        self.reason = reason
        self.source = preview_source(source) if source is not None else None
        self.message_index = message_index
        self.part_index = part_index
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.message_index is not None:
            where.append(f"message {self.message_index}")
        if self.part_index is not None:
            where.append(f"part {self.part_index}")
        text = self.detail
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.source:
            text = f"{text} (source: {self.source})"
        # Details quote content (block types, file names, URLs): one line, no control characters.
        return escape_text(text)

    def at(self, *, message_index: int | None, part_index: int | None) -> ImageInputError:
        """Return a copy of this error located at a message and part."""
        located = ImageInputError(
            self.detail,
            reason=self.reason,
            source=self.source,
            message_index=message_index,
            part_index=part_index,
        )
        located.__cause__ = self.__cause__
        return located

    def __reduce__(self) -> tuple[object, ...]:
        """Keep the error picklable (multiprocessing, caches) despite keyword-only arguments."""
        state = (self.detail, self.reason, self.source, self.message_index, self.part_index)
        return (_rebuild, state)


def _rebuild(
    detail: str,
    reason: ImageErrorReason,
    source: str | None,
    message_index: int | None,
    part_index: int | None,
) -> ImageInputError:
    return ImageInputError(
        detail,
        reason=reason,
        source=source,
        message_index=message_index,
        part_index=part_index,
    )


class FlexAIConfigError(ValueError):
    """The package is not set up to reach FlexAI (no API key, ...); the message says what to do.

    Raised bare by ``ChatFlexAI(...)``, not inside a pydantic ``ValidationError``, so that it
    reads as one line.
    """
