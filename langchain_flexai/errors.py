"""Every public exception and warning of langchain-flexai, in one place.

The hierarchy (indented under their bases; a name in parentheses is another base)::

    ValueError
    +-- ImageInputError                image input that cannot be made valid (see ImageErrorReason)
    +-- FlexAIConfigError              not set up to reach FlexAI (no API key, ...)
    +-- ModelCapabilityError           a request asks a model for what it is known not to do
        +-- ToolChoiceNotSupportedError    a forced tool call to a model that declines them
    RuntimeError
    +-- FlexAICatalogError             the model catalog could not be read or understood
    |   +-- ModelNotFoundError (LookupError)   no model has this id or alias
    +-- DescribeCacheError             the describe cache file fails or holds damaged rows
    ConnectionError
    +-- FlexAIStreamInterruptedError   a stream broke after the answer started (truncated)
    openai.APIStatusError
    +-- FlexAICreditExhaustedError     402 insufficient_quota: the credit is spent
    openai.APIConnectionError (LangChain's ModelConnectionError)
    +-- FlexAIConnectionError          FlexAI could not be reached
    +-- openai.APITimeoutError (LangChain's ModelTimeoutError)
        +-- FlexAITimeoutError         FlexAI did not answer in time
    UserWarning
    +-- CatalogWarning                 one catalog endpoint failed, the other was used alone
    +-- ForcedToolChoiceWarning        a forced tool call to a model that declines them, sent
    +-- ImageSkippedWarning            the loader skipped a file (on_error="warn")

Each class is also importable where 0.2.0 had it (the package root, ``api_errors``,
``catalog``, ``capabilities``, ``describe``, ``document_loaders``).

Knows what each failure carries (reason, source, location, path) and how its message is made
safe to print (:func:`escape_text`, :func:`preview_source`). Knows nothing about pixels,
messages, HTTP or files: the modules that detect a failure build these errors, and mapping the
SDK's errors onto FlexAI's (message, hint, masked credentials) lives in ``_transport._errors``.
A leaf: it imports the standard library, ``openai`` and ``langchain_openai`` only, so every
module of the package can import it without a cycle.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TYPE_CHECKING, Any

import openai

try:  # langchain-openai's classes add LangChain's ModelConnectionError / ModelTimeoutError
    from langchain_openai.chat_models.base import OpenAIConnectionError as _ConnectionBase
    from langchain_openai.chat_models.base import OpenAITimeoutError as _TimeoutBase
except ImportError:  # pragma: no cover - older langchain-openai
    _ConnectionBase = openai.APIConnectionError  # type: ignore[misc, assignment]
    _TimeoutBase = openai.APITimeoutError  # type: ignore[misc, assignment]

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CatalogWarning",
    "DescribeCacheError",
    "FlexAICatalogError",
    "FlexAIConfigError",
    "FlexAIConnectionError",
    "FlexAICreditExhaustedError",
    "FlexAIStreamInterruptedError",
    "FlexAITimeoutError",
    "ForcedToolChoiceWarning",
    "ImageErrorReason",
    "ImageInputError",
    "ImageSkippedWarning",
    "ModelCapabilityError",
    "ModelNotFoundError",
    "ToolChoiceNotSupportedError",
    "escape_text",
    "preview_source",
]

_URL_PREVIEW_CHARS = 48
_PATH_PREVIEW_CHARS = 160


class ImageErrorReason(str, Enum):
    """Machine-readable reasons an image or content part was refused."""

    EMPTY = "empty"
    """Zero bytes of image data, or a PDF without pages."""
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
    NOT_A_PDF = "not_a_pdf"
    """Data given as a PDF that is no PDF (no ``%PDF-`` header)."""
    ENCRYPTED = "encrypted"
    """A PDF protected by a password: its pages cannot be read without it."""
    TOO_MANY_PAGES = "too_many_pages"
    """More PDF pages than the request (``ImagePolicy.max_images``) or the policy
    (``ImagePolicy.max_pdf_pages``) allows; the message says how to choose pages."""


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


# -- model capabilities (refused before anything is sent) ----------------------------------------


class ModelCapabilityError(ValueError):
    """A request asks a model for something it is known not to do."""


class ToolChoiceNotSupportedError(ModelCapabilityError):
    """A forced tool call was requested from a model known to decline forced tool calls."""


# -- the model catalog ---------------------------------------------------------------------------


class FlexAICatalogError(RuntimeError):
    """The model catalog could not be read, or its answer could not be understood."""


class ModelNotFoundError(FlexAICatalogError, LookupError):
    """No model in the catalog has this id or alias."""


# -- the describe cache --------------------------------------------------------------------------


class DescribeCacheError(RuntimeError):
    """The describe cache file cannot be opened, read or written, or holds damaged rows.

    The message names the file, what went wrong and what to do; ``path`` is the file.
    """

    def __init__(self, path: Path, message: str) -> None:
        """Create the error for the cache at ``path``."""
        super().__init__(message)
        self.path = path

    def __reduce__(self) -> tuple[type[DescribeCacheError], tuple[Path, str]]:
        """Pickle with both arguments (the default would pass only the message)."""
        return (type(self), (self.path, str(self)))


# -- FlexAI's HTTP errors (built by _transport._errors) ------------------------------------------


def _revive(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class _Picklable(BaseException):
    """Round-trips through pickle although the SDK's constructors take keyword-only arguments."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuild from args and attributes, without calling the constructor."""
        return (_revive, (type(self), self.args, self.__dict__))


class FlexAICreditExhaustedError(_Picklable, openai.APIStatusError):
    """FlexAI answered 402 ``insufficient_quota``: the account's credit is spent.

    Not retried: it works again once the account is topped up.
    """


class FlexAIConnectionError(_Picklable, _ConnectionBase):
    """FlexAI could not be reached; the message names the base URL tried and what to check.

    An ``openai.APIConnectionError`` (and LangChain's ``ModelConnectionError``).
    """


class FlexAITimeoutError(_Picklable, _TimeoutBase):
    """FlexAI did not answer in time; the message names the base URL.

    An ``openai.APITimeoutError`` (so an ``openai.APIConnectionError`` too).
    """


class FlexAIStreamInterruptedError(ConnectionError):
    """A stream ended before the model finished: what arrived is a truncated answer."""


# -- warnings ------------------------------------------------------------------------------------


class CatalogWarning(UserWarning):
    """One catalog endpoint failed and the other was used alone."""


class ForcedToolChoiceWarning(UserWarning):
    """A forced tool call was requested from a model known to decline it (sent anyway)."""


class ImageSkippedWarning(UserWarning):
    """An image file was skipped (``on_error="warn"``); the message names it and says why."""
