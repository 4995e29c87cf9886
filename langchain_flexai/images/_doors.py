"""Images made ready for FlexAI: policy, prepared result, the two doors in, and the cache.

Knows pixels (through :mod:`langchain_flexai.images._codec`), base64 and data URLs; knows nothing
about LangChain messages (content.py maps those onto :func:`prepare_inline_image`).

Two doors:

- :func:`prepare_image` is the **trusted** door, for the developer's own code: paths, bytes, file
  objects, PIL images, Blobs, data URLs, base64 text and https URLs (passed through, never fetched).
- :func:`prepare_inline_image` is the **untrusted-safe** door, for message content: a data URL,
  base64 text or raw bytes only. It never opens a file or fetches a URL.

Results of both doors for in-memory input (strings and bytes) are kept in a process-wide cache keyed
by the input itself plus the policy, bounded at :data:`DEFAULT_CACHE_BYTES` (LRU), so a conversation
that re-sends the same images every turn prepares each image once.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from functools import cached_property
from hashlib import sha256 as _sha256
from pathlib import Path
from typing import Any, BinaryIO, Literal

from PIL import Image

from langchain_flexai._loader._walk import not_regular_file
from langchain_flexai._urls import DataUrl, classify_url, parse_data_url, validate_https_url
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._b64 import Base64Error, b64decode_strict, b64encode_str
from langchain_flexai.images._cache import ByteBoundedLRU
from langchain_flexai.images._codec import (
    Encoded,
    check_animation,
    check_pixels,
    encode_bytes,
    input_too_large,
    pillow_errors,
    render,
)

__all__ = [
    "ACCEPTED_SUFFIXES",
    "DEFAULT_CACHE_BYTES",
    "MAX_FILE_BYTES",
    "SUPPORTED_MIME_TYPES",
    "ImagePolicy",
    "PreparedImage",
    "clear_image_cache",
    "image_block",
    "prepare_image",
    "prepare_image_file",
    "prepare_inline_image",
    "read_image_file",
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
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
"""Bound on the memory the prepared-image cache holds (inputs plus outputs)."""

_DETAILS = ("auto", "low", "high")
_PATH_LIKE_MAX = 4096
_ENTRY_OVERHEAD = 512  # rough per-entry bookkeeping cost for the cache bound


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

    def __post_init__(self) -> None:
        """Validate every field."""
        for name in (
            "max_side",
            "max_pixels",
            "max_bytes",
            "max_decode_pixels",
            "max_images",
            "max_input_bytes",
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
    """In order applied, from: mime_corrected, primary_picture (a multi-picture JPEG sent as its
    first picture), first_frame, resized, transposed, converted, flattened."""
    source: str | None = None
    """A path or a URL preview, when known (never a whole base64 blob)."""
    original_mime_type: str | None = None
    """The MIME type of the input bytes, sniffed (never the declared label)."""
    original_width: int | None = None
    """Width of the input in pixels, before any transformation."""
    original_height: int | None = None
    """Height of the input in pixels, before any transformation."""

    @cached_property
    def sha256(self) -> str | None:
        """Hex SHA-256 of the bytes sent (None for an https URL).

        Computed on first access: hashing costs more than base64-encoding, so the fast path does
        not pay for it unless someone asks.
        """
        if not self.url.startswith("data:"):
            return None
        return _sha256(self.data()).hexdigest()

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
        _check_detail(detail)
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
        _check_detail(detail)
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
        return b64decode_strict(self._payload())

    def estimate_tokens(self, model: str) -> int:
        """Image tokens this image is likely to cost on ``model`` (see ``tokens.py``)."""
        # Imported here: tokens.py is optional reading for most callers of this module.
        from langchain_flexai.tokens import estimate_image_tokens  # noqa: PLC0415

        return estimate_image_tokens(model, self.width, self.height)


def _check_detail(detail: str | None) -> None:
    if detail is not None and detail not in _DETAILS:
        raise ImageInputError(
            f"detail must be one of 'auto', 'low', 'high', got {detail!r}",
            reason=ImageErrorReason.INVALID_DETAIL,
        )


_CACHE: ByteBoundedLRU[tuple[object, ...], PreparedImage] = ByteBoundedLRU(DEFAULT_CACHE_BYTES)


def clear_image_cache() -> None:
    """Empty the prepared-image cache (and reset its hit/miss counters)."""
    _CACHE.clear()


def _normalise_mime(mime: str | None) -> str | None:
    if mime is None:
        return None
    return mime.split(";", 1)[0].strip().lower() or None


def _located(error: ImageInputError, source: str | None) -> ImageInputError:
    if source is None or error.source is not None:
        return error
    located = ImageInputError(error.detail, reason=error.reason, source=source)
    located.__cause__ = error.__cause__
    return located


def _decode_base64(text: str) -> bytes:
    try:
        return b64decode_strict(text)
    except Base64Error as exc:
        raise ImageInputError(
            f"invalid base64 image data: {exc}", reason=ImageErrorReason.INVALID_BASE64
        ) from None


def _parse_data_url(url: str, parsed: DataUrl | None = None) -> tuple[str | None, str]:
    """Split a ``data:`` URL (unless ``parsed``) into its image MIME (or None) and payload."""
    media, _, payload = parsed = parsed or parse_data_url(url)
    if not parsed.is_base64:
        raise ImageInputError(
            "data URL is not base64-encoded; images must be 'data:image/<type>;base64,...'",
            reason=ImageErrorReason.INVALID_DATA_URL,
        )
    if media and not media.startswith("image/") and media != "application/octet-stream":
        raise ImageInputError(
            f"data URL declares {media!r}, not an image type",
            reason=ImageErrorReason.INVALID_DATA_URL,
        )
    return (media if media.startswith("image/") else None), payload


def _reusable(payload: str) -> bool:
    # The input base64 text can be sent as is when our strict decode needed no clean-up.
    return (
        bool(payload)
        and "\n" not in payload
        and not payload[0].isspace()
        and not payload[-1].isspace()
    )


def _build(encoded: Encoded, source: str | None, url: str | None = None) -> PreparedImage:
    if url is None:
        url = f"data:{encoded.mime_type};base64,{b64encode_str(encoded.data)}"
    return PreparedImage(
        url=url,
        mime_type=encoded.mime_type,
        width=encoded.width,
        height=encoded.height,
        size_bytes=len(encoded.data),
        transformations=encoded.transformations,
        source=source,
        original_mime_type=encoded.original_mime_type,
        original_width=encoded.original_width,
        original_height=encoded.original_height,
    )


def _inline_uncached(
    data: str | bytes,
    declared: str | None,
    policy: ImagePolicy,
    source: str | None,
    data_url: DataUrl | None = None,
) -> PreparedImage:
    payload: str | None = None
    if isinstance(data, str):
        if data_url is not None or classify_url(data) == "data":
            url_mime, payload = _parse_data_url(data, data_url)
            declared = url_mime or declared
        else:
            payload = data
        if not payload.strip():
            raise ImageInputError("the image data is empty", reason=ImageErrorReason.EMPTY)
        # Before decoding: base64 carries 3 bytes per 4 characters (line breaks not counted).
        at_least = (len(payload) - payload.count("\n")) // 4 * 3 - 2
        if at_least > policy.max_input_bytes:
            raise input_too_large(at_least, policy, at_least=True)
        raw = _decode_base64(payload)
    else:
        raw = data
    encoded = encode_bytes(raw, policy, declared)
    url: str | None = None
    if encoded.passthrough and payload is not None and _reusable(payload):
        prefix = f"data:{encoded.mime_type};base64,"
        # The very same data URL object when it was already right: no copy of megabytes.
        url = data if isinstance(data, str) and data.startswith(prefix) else prefix + payload
    return _build(encoded, source, url)


def prepare_inline_image(
    data: str | bytes,
    *,
    mime_type: str | None = None,
    policy: ImagePolicy | None = None,
    source: str | None = None,
    data_url: DataUrl | None = None,
) -> PreparedImage:
    """Prepare an image carried inline in message content; never touches files or the network.

    Args:
        data: A ``data:image/...;base64,`` URL, base64 text (any other string is taken as base64),
            or raw image bytes.
        mime_type: The declared type, if any. It may be missing or wrong: the type is sniffed from
            the bytes and a mismatch is recorded as ``"mime_corrected"``.
        policy: Limits to meet (default :class:`ImagePolicy`).
        source: What to name in errors (e.g. a URL preview); never the data itself.
        data_url: ``data`` as ``parse_data_url`` split it, when the caller has already (message
            content does): it is then not classified and split again. Must be ``data``'s own.

    Returns:
        The prepared image; the same object for a repeated identical call while cached.

    Raises:
        ImageInputError: When the data cannot be made into a valid image for FlexAI.
    """
    policy = policy or DEFAULT_POLICY
    if not isinstance(data, (str, bytes)):
        data = bytes(data)
    declared = _normalise_mime(mime_type)
    key = ("inline", data, declared, policy, source)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        result = _inline_uncached(data, declared, policy, source, data_url)
    except ImageInputError as exc:
        raise _located(exc, source) from exc.__cause__
    cost = len(data) + _ENTRY_OVERHEAD + (0 if result.url is data else len(result.url))
    _CACHE.put(key, result, cost)
    return result


def prepare_https_image(url: str) -> PreparedImage:
    """An https image URL, validated and passed through untouched (never fetched).

    The only door for a URL: it never reads a file, so a caller that must not open paths (the
    vision tool) can hand it a string safely.

    Raises:
        ImageInputError: ``UNSUPPORTED_URL`` when ``url`` is not a valid https URL (see
            :func:`langchain_flexai._urls.validate_https_url`).
    """
    url = validate_https_url(url)
    return PreparedImage(
        url=url, mime_type=None, width=None, height=None, size_bytes=None, source=url
    )


def _from_bytes(
    raw: bytes, policy: ImagePolicy, declared: str | None, source: str | None
) -> PreparedImage:
    try:
        return _build(encode_bytes(raw, policy, _normalise_mime(declared)), source)
    except ImageInputError as exc:
        raise _located(exc, source) from exc.__cause__


def _unreadable(path: str, exc: OSError) -> ImageInputError:
    error = ImageInputError(
        f"cannot read the image file: {exc.strerror or exc}",
        reason=ImageErrorReason.UNREADABLE,
        source=path,
    )
    error.__cause__ = exc
    return error


def _too_large(path: str, size: int | None, max_bytes: int) -> ImageInputError:
    has = f"has {size} bytes" if size is not None else "grew while being read"
    return ImageInputError(
        f"the file {has}, more than the limit of {max_bytes} bytes for an image file "
        "(raise max_file_bytes if it really is an image)",
        reason=ImageErrorReason.TOO_LARGE,
        source=path,
    )


def read_at_most(handle: BinaryIO, size: int, max_bytes: int) -> bytes:
    """Read an open file whose ``fstat`` size is ``size``, never more than ``max_bytes + 1`` bytes.

    ``read(n)`` allocates ``n`` bytes up front, so this asks for what fstat promised (plus one
    byte, to notice a file that grew since), not for the cap, which would cost a cap-sized
    allocation for every small file. The caller compares the length with ``max_bytes``.
    """
    data = handle.read(size + 1)
    if len(data) > size:  # the file grew after fstat: read on, still bounded
        data += handle.read(max_bytes + 1 - len(data))
    return data


def read_image_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a regular file of at most ``max_bytes`` bytes, refusing anything else up front.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so a FIFO
    never blocks the caller, a device such as ``/dev/zero`` is never read, and a file swapped
    after a check is judged by what was actually opened. At most ``max_bytes + 1`` bytes are read,
    so a file growing while it is read cannot fill memory either.

    Raises:
        ImageInputError: ``UNREADABLE`` (missing, no permission, not a regular file) or
            ``TOO_LARGE`` (more than ``max_bytes``), with the path as ``source``.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _unreadable(name, exc) from exc
    try:
        with os.fdopen(fd, "rb") as handle:
            mode, size = (info := os.fstat(handle.fileno())).st_mode, info.st_size
            if not stat.S_ISREG(mode):
                raise _unreadable(name, not_regular_file(mode, name))
            if size > max_bytes:
                raise _too_large(name, size, max_bytes)
            data = read_at_most(handle, size, max_bytes)
    except OSError as exc:
        raise _unreadable(name, exc) from exc
    if len(data) > max_bytes:  # the file grew after fstat
        raise _too_large(name, None, max_bytes)
    return data


def prepare_image_file(
    path: str | os.PathLike[str],
    policy: ImagePolicy | None = None,
    *,
    mime_type: str | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> PreparedImage:
    """:func:`prepare_image` for a file path, with a limit on the bytes read.

    Raises:
        ImageInputError: As :func:`read_image_file`, or when the bytes are not a valid image.
    """
    raw = read_image_file(path, max_file_bytes)
    return _from_bytes(raw, policy or DEFAULT_POLICY, mime_type, os.fspath(path))


def _from_path(path: Path, policy: ImagePolicy, declared: str | None) -> PreparedImage:
    return prepare_image_file(path, policy, mime_type=declared)


def _from_str(text: str, policy: ImagePolicy, declared: str | None) -> PreparedImage:
    kind = classify_url(text)
    if kind == "data":
        return prepare_inline_image(text, mime_type=declared, policy=policy)
    if kind == "https":
        # Never a path, even when not a valid URL: "https:/../x" must not reach Path().
        return prepare_https_image(text)
    if kind == "other_scheme":
        raise ImageInputError(
            "only https:// and data: image URLs are accepted "
            "(pass local files as a pathlib.Path, not a file:// URL)",
            reason=ImageErrorReason.UNSUPPORTED_URL,
            source=text,
        )
    if len(text) <= _PATH_LIKE_MAX and "\n" not in text and "\x00" not in text:
        path = Path(text).expanduser()
        try:
            # exists(), not is_file(): a FIFO or device named here gets the path door's own
            # "not a regular file" error rather than a base64 complaint.
            exists = path.exists()
        except (OSError, ValueError):
            exists = False
        if exists:
            return _from_path(path, policy, declared)
    try:
        return prepare_inline_image(text, mime_type=declared, policy=policy)
    except ImageInputError as exc:
        path_like = len(text) <= _PATH_LIKE_MAX and any(c in text for c in "./\\~")
        if exc.reason is ImageErrorReason.INVALID_BASE64 and path_like:
            raise ImageInputError(
                "no such image file (and the string is not valid base64 either)",
                reason=ImageErrorReason.UNREADABLE,
                source=text,
            ) from None
        raise


def _from_pil(im: Image.Image, policy: ImagePolicy) -> PreparedImage:
    fmt = im.format
    width, height = im.size
    with pillow_errors():
        check_pixels(width, height, policy)
        animated = check_animation(im, fmt, policy)
        orientation = 1
        if policy.exif_transpose:
            value = im.getexif().get(0x0112, 1)
            orientation = value if isinstance(value, int) else 1
        frame = im.tell() if animated else 0
        if frame:
            im.seek(0)
        try:
            out, mime, steps = render(
                im,
                src_format=fmt,
                orientation=orientation,
                policy=policy,
                allow_draft=False,
                owned=False,
                explained=animated or fmt is None,
            )
        finally:
            if frame:
                im.seek(frame)
    return PreparedImage(
        url=f"data:{mime};base64,{b64encode_str(out.data)}",
        mime_type=mime,
        width=out.width,
        height=out.height,
        size_bytes=len(out.data),
        transformations=(("first_frame",) if animated else ()) + steps,
        source=getattr(im, "filename", None) or None,
        original_mime_type=Image.MIME.get(fmt) if fmt else None,
        original_width=width,
        original_height=height,
    )


def _blob_class() -> type | None:
    # A Blob can only exist if langchain_core's module is loaded; don't import it to find out.
    module = sys.modules.get("langchain_core.documents.base")
    blob = getattr(module, "Blob", None)
    return blob if isinstance(blob, type) else None


def prepare_image(
    source: object, policy: ImagePolicy | None = None, *, mime_type: str | None = None
) -> PreparedImage:
    """Prepare an image from the developer's own code (the trusted door).

    Args:
        source: A ``pathlib.Path`` or path string, ``bytes``/``bytearray``/``memoryview``, a binary
            file object, a ``PIL.Image.Image``, a LangChain ``Blob``, a data URL, base64 text, or an
            https URL (passed through untouched, never fetched).
        policy: Limits to meet (default :class:`ImagePolicy`).
        mime_type: The declared type, if known; the bytes decide, a mismatch is recorded.

    Returns:
        The prepared image.

    Raises:
        ImageInputError: When the source cannot be read or made into a valid image.
    """
    policy = policy or DEFAULT_POLICY
    if isinstance(source, str):
        return _from_str(source, policy, mime_type)
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = source if isinstance(source, bytes) else bytes(source)
        return prepare_inline_image(raw, mime_type=mime_type, policy=policy)
    if isinstance(source, os.PathLike):
        return _from_path(Path(os.fspath(source)), policy, mime_type)
    if isinstance(source, Image.Image):
        return _from_pil(source, policy)
    blob_cls = _blob_class()
    if blob_cls is not None and isinstance(source, blob_cls):
        return _from_blob(source, policy, mime_type)
    read = getattr(source, "read", None)
    if callable(read):
        return _from_file(source, read, policy, mime_type)
    raise ImageInputError(
        f"cannot prepare an image from a {type(source).__name__}; pass a path, bytes, a binary "
        "file object, a PIL image, a Blob, a data URL, base64 text or an https URL",
        reason=ImageErrorReason.UNSUPPORTED_SOURCE,
    )


def _from_blob(blob: Any, policy: ImagePolicy, declared: str | None) -> PreparedImage:
    name = blob.source or (str(blob.path) if blob.path else None)
    try:
        raw = blob.as_bytes()
    except (OSError, ValueError) as exc:
        raise ImageInputError(
            f"cannot read the Blob's data: {exc}", reason=ImageErrorReason.UNREADABLE, source=name
        ) from exc
    return _from_bytes(raw, policy, declared or blob.mimetype, name)


def _from_file(
    handle: object, read: Any, policy: ImagePolicy, declared: str | None
) -> PreparedImage:
    name = getattr(handle, "name", None)
    name = name if isinstance(name, str) else None
    try:
        raw = read()
    except OSError as exc:
        raise ImageInputError(
            f"cannot read the file object: {exc}", reason=ImageErrorReason.UNREADABLE, source=name
        ) from exc
    if not isinstance(raw, (bytes, bytearray)):
        raise ImageInputError(
            "the file object returned text, not bytes; open it in binary mode ('rb')",
            reason=ImageErrorReason.UNSUPPORTED_SOURCE,
            source=name,
        )
    return _from_bytes(bytes(raw), policy, declared, name)


def image_block(
    source: object, *, detail: str | None = None, policy: ImagePolicy | None = None
) -> dict[str, Any]:
    """A LangChain v1 image content block from anything :func:`prepare_image` accepts."""
    return prepare_image(source, policy).to_content_block(detail)
