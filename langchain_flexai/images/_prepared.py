"""An image ready for the wire: :class:`PreparedImage`, and its views as content blocks.

Knows the prepared result's fields, the two wire shapes it renders to (a LangChain v1 image block
and an OpenAI ``image_url`` part), the ``detail`` values those accept, and the token arithmetic it
asks :mod:`langchain_flexai._token_rules` for. Knows nothing about how the image was made (the
codec and the doors do that), files, URLs beyond the ``data:`` prefix, or LangChain messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from hashlib import sha256 as _sha256
from typing import Any

from langchain_flexai._token_rules import estimate_image_tokens
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._b64 import b64decode_strict

__all__ = ["PreparedImage", "check_detail"]

DETAILS = frozenset({"auto", "low", "high"})
"""The ``detail`` values an ``image_url`` part may carry (content and the doors both check them)."""


@dataclass(frozen=True, repr=False)
class PreparedImage:
    """An image ready for the wire, and an honest record of how it got there."""

    url: str
    """A ``data:image/...;base64,...`` URL, or an https URL passed through untouched."""
    mime_type: str | None
    """The MIME type of the bytes sent (None for an https URL: never fetched)."""
    width: int | None
    """Width in pixels of the image sent (None for an https URL)."""
    height: int | None
    """Height in pixels of the image sent (None for an https URL)."""
    size_bytes: int | None
    """Size of the bytes sent, before base64 (None for an https URL)."""
    transformations: tuple[str, ...] = ()
    """In order applied, from: rendered_page (a PDF page drawn by PDFium), mime_corrected,
    primary_picture (a multi-picture JPEG sent as its first picture), first_frame, resized,
    transposed, converted, flattened."""
    source: str | None = None
    """A path or a URL preview, when known (never a whole base64 blob)."""
    original_mime_type: str | None = None
    """The MIME type of the input bytes, sniffed (never the declared label)."""
    original_width: int | None = None
    """Width of the input in pixels, before any transformation."""
    original_height: int | None = None
    """Height of the input in pixels, before any transformation."""
    _sent: bytes | None = field(default=None, compare=False, repr=False)
    # The bytes the data URL carries, when the maker had them at hand: sha256 and data() then
    # need not decode the base64 just made. Private (not part of equality, repr or pickles: a
    # pickled image stays as small as its URL and decodes again when asked).

    @classmethod
    def _made(  # noqa: PLR0917 - one argument per field
        cls,
        url: str,
        mime_type: str,
        width: int,
        height: int,
        transformations: tuple[str, ...],
        source: str | None,
        original_mime_type: str | None,
        original_width: int,
        original_height: int,
        sent: bytes,
    ) -> PreparedImage:
        """The image the doors made from ``sent``: what ``__init__`` builds, 5x faster.

        The frozen dataclass's ``__init__`` sets each of the 11 fields through
        ``object.__setattr__``, which cost a small file's fast path more than reading it; this
        fills the instance's ``__dict__`` in one step, in field order (a test compares the two).
        """
        image = object.__new__(cls)
        image.__dict__.update(
            url=url,
            mime_type=mime_type,
            width=width,
            height=height,
            size_bytes=len(sent),
            transformations=transformations,
            source=source,
            original_mime_type=original_mime_type,
            original_width=original_width,
            original_height=original_height,
            _sent=sent,
        )
        return image

    @cached_property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the bytes sent (None for an https URL).

        Computed on first access: hashing costs more than base64-encoding, so the fast path does
        not pay for it unless someone asks.
        """
        if not self.url.startswith("data:"):
            return None
        return _sha256(self.data()).hexdigest()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the sent bytes (the URL carries them)."""
        state = dict(self.__dict__)
        state.pop("_sent", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a pickled image; the sent bytes are decoded again when needed."""
        self.__dict__.update(state)
        self.__dict__.setdefault("_sent", None)

    def __repr__(self) -> str:
        """Show everything but the bulk of a data URL."""
        url = self.url if len(self.url) <= 64 else self.url[:48] + f"…({len(self.url)} chars)"  # noqa: PLR2004
        return (
            f"PreparedImage(url={url!r}, mime_type={self.mime_type!r}, width={self.width}, "
            f"height={self.height}, size_bytes={self.size_bytes}, "
            f"transformations={self.transformations!r}, source={self.source!r})"
        )

    def _payload(self) -> str:
        return self.url[self.url.index(",") + 1 :]

    def to_content_block(self, detail: str | None = None) -> dict[str, Any]:
        """The LangChain v1 image content block; ``detail`` goes under ``extras``."""
        check_detail(detail)
        block: dict[str, Any]
        if self.url.startswith("data:"):
            block = {"type": "image", "base64": self._payload(), "mime_type": self.mime_type}
        else:
            block = {"type": "image", "url": self.url}
        if detail is not None:
            block["extras"] = {"detail": detail}
        return block

    def to_openai_part(self, detail: str | None = None) -> dict[str, Any]:
        """The OpenAI / FlexAI ``image_url`` content part."""
        check_detail(detail)
        image_url: dict[str, str] = {"url": self.url}
        if detail is not None:
            image_url["detail"] = detail
        return {"type": "image_url", "image_url": image_url}

    def data(self) -> bytes:
        """The bytes that are sent.

        Raises:
            ValueError: For an https URL, which is passed through and never fetched.
        """
        if not self.url.startswith("data:"):
            raise ValueError("an https image URL is passed through, never fetched: no bytes here")
        if self._sent is not None:
            return self._sent
        return b64decode_strict(self._payload())

    def estimate_tokens(self, model: str) -> int:
        """Image tokens this image is likely to cost on ``model`` (see ``tokens.py``)."""
        return estimate_image_tokens(model, self.width, self.height)


def check_detail(detail: str | None) -> None:
    """Refuse a ``detail`` that is not ``auto``, ``low`` or ``high``."""
    if detail is not None and detail not in DETAILS:
        raise ImageInputError(
            f"detail must be one of 'auto', 'low', 'high', got {detail!r}",
            reason=ImageErrorReason.INVALID_DETAIL,
        )
