"""The limits an image must meet before it goes to FlexAI, and what the pipeline accepts.

Knows the :class:`ImagePolicy` fields, their defaults and their validation, the MIME types FlexAI
takes on the wire and the file suffixes the pipeline reads. A leaf: it imports nothing from the
package, so every module that takes a policy (the codec, the doors, content, the chat model) can
import it without a cycle. Knows nothing about pixels, base64, files or LangChain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACCEPTED_SUFFIXES",
    "DEFAULT_POLICY",
    "MAX_FILE_BYTES",
    "SUPPORTED_MIME_TYPES",
    "ImagePolicy",
]

SUPPORTED_MIME_TYPES: frozenset[str] = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/gif"}
)
"""The image types FlexAI accepts on the wire; everything else is converted to one of them."""

ACCEPTED_SUFFIXES: frozenset[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".webp", ".gif",
        ".heic", ".heif", ".avif", ".bmp", ".dib", ".tif", ".tiff", ".ico",
        ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".qoi", ".pcx", ".sgi", ".jp2",
        ".mpo",
    }
)  # fmt: skip
"""Lowercase file suffixes the pipeline can read (HEIC/HEIF with the ``heif`` extra)."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Most bytes read from one image file by default (64 MiB): more than any camera photo or scan
FlexAI would accept after downscaling, small enough that a wrong path (a disk image, a video) fails
at once with ``TOO_LARGE`` instead of filling memory."""


@dataclass(frozen=True)
class ImagePolicy:
    """Limits every image must meet before it goes to FlexAI (hashable; part of the cache key).

    Raises:
        TypeError: A field has the wrong type.
        ValueError: A field is out of range.
    """

    max_side: int = 2048
    """Longest side in pixels; larger images are downscaled, keeping the aspect ratio."""
    max_pixels: int = 4_194_304
    """Width times height; larger images are downscaled."""
    max_bytes: int = 5 * 1024 * 1024
    """Encoded bytes per image (before base64); larger results are re-encoded smaller."""
    animated: Literal["first_frame", "error"] = "first_frame"
    """Animated GIF/WebP/APNG: send the first frame, or refuse."""
    jpeg_quality: int = 85
    """Quality of re-encoded JPEGs (1-95)."""
    exif_transpose: bool = True
    """Rotate pixels upright by the EXIF orientation (and drop the tag)."""
    max_decode_pixels: int = 120_000_000
    """Decompression-bomb limit: images claiming more pixels are refused without decoding."""
    max_images: int = 20
    """Images allowed in one request (enforced by content.py)."""
    max_input_bytes: int = 64 * 1024 * 1024
    """Input bytes per image, whatever the door (inline base64 is measured before decoding):
    bounds every per-byte cost of a request's content. The default equals :data:`MAX_FILE_BYTES`."""
    max_pdf_pages: int = 2000
    """Pages rendered from one PDF in one call (all of them unless pages are chosen): a PDF
    whose page tree claims more is refused (``TOO_MANY_PAGES``) before a page is rendered."""

    def __post_init__(self) -> None:
        """Validate every field."""
        for name in (
            "max_side",
            "max_pixels",
            "max_bytes",
            "max_decode_pixels",
            "max_images",
            "max_input_bytes",
            "max_pdf_pages",
        ):
            _require_int(name, getattr(self, name), 1)
        _require_int("jpeg_quality", self.jpeg_quality, 1)
        if self.jpeg_quality > 95:  # noqa: PLR2004 - Pillow's documented useful maximum
            raise ValueError(f"ImagePolicy.jpeg_quality must be 1-95, got {self.jpeg_quality}")
        if self.animated not in ("first_frame", "error"):
            raise ValueError(
                f"ImagePolicy.animated must be 'first_frame' or 'error', got {self.animated!r}"
            )
        if not isinstance(self.exif_transpose, bool):
            raise TypeError(
                f"ImagePolicy.exif_transpose must be a bool, got {self.exif_transpose!r}"
            )
        if self.max_decode_pixels < self.max_pixels:
            raise ValueError(
                f"ImagePolicy.max_decode_pixels ({self.max_decode_pixels}) must be at least "
                f"max_pixels ({self.max_pixels})"
            )


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"ImagePolicy.{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"ImagePolicy.{name} must be >= {minimum}, got {value}")


DEFAULT_POLICY = ImagePolicy()
"""The policy used when none is given."""
