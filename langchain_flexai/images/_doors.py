"""The doors into the image pipeline: what each kind of source becomes, and the cache.

Knows the sources a caller may hand in (paths, bytes, file objects, PIL images, Blobs, data URLs,
base64 text, https URLs), base64 and data URLs, reading an image file (bounded, through
:mod:`langchain_flexai._files`), and the prepared-image cache. Knows nothing about pixels (the
codec, :mod:`langchain_flexai.images._codec`, turns bytes into wire bytes), the policy's fields
(:mod:`langchain_flexai.images._policy`) or LangChain messages (content maps those onto
:func:`prepare_inline_image`).

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
import sys
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any

from PIL import Image

from langchain_flexai._files import (
    OPEN_FLAGS,
    FileTooLargeError,
    NotRegularFileError,
    read_regular_fd,
)
from langchain_flexai._loader._walk import not_regular_file
from langchain_flexai._urls import DataUrl, classify_url, parse_data_url, validate_https_url
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._b64 import Base64Error, b64decode_strict, b64encode_str
from langchain_flexai.images._cache import ByteBoundedLRU, uncached_work
from langchain_flexai.images._codec import Encoded, encode_bytes
from langchain_flexai.images._fetch import fetch_image_bytes, redact_url
from langchain_flexai.images._fetch_policy import FetchPolicy
from langchain_flexai.images._identity import by_identity, entry_cost
from langchain_flexai.images._pillow_errors import pillow_errors
from langchain_flexai.images._policy import DEFAULT_POLICY, MAX_FILE_BYTES, ImagePolicy
from langchain_flexai.images._prepared import PreparedImage
from langchain_flexai.images._probe import check_animation, check_pixels, input_too_large
from langchain_flexai.images._render import render

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "clear_image_cache",
    "image_block",
    "prepare_fetched_image",
    "prepare_https_image",
    "prepare_image",
    "prepare_image_file",
    "prepare_inline_image",
    "read_image_file",
]

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
"""Bound on the memory the prepared-image cache holds (inputs plus outputs)."""

HASHED_BELOW = 256 * 1024
"""Inline inputs shorter than this are looked up by content (their hash costs nothing); longer
ones by identity first (``images._identity``)."""

_PATH_LIKE_MAX = 4096


PROBATION_CACHE_BYTES = 32 * 1024 * 1024
"""Bound on the images seen once: a second request for one promotes it (``ByteBoundedLRU``), so
a loop over thousands of distinct images holds at most this much, not the whole cache bound. It
holds a conversation turn's images (a few large photos) until the next turn asks for them again;
an image that left probation before its second request is kept from its second request on. The
describe run and the loader's PDF pages store nothing at all (``_cache.not_stored``): each of
their images is used once."""

_CACHE: ByteBoundedLRU[tuple[object, ...], Any] = ByteBoundedLRU(
    DEFAULT_CACHE_BYTES, probation_bytes=PROBATION_CACHE_BYTES
)


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


def _reusable(payload: str, raw: bytes) -> bool:
    """Whether the input base64 text can be sent as is: our strict decode needed no clean-up.

    The decode tolerates only line breaks and surrounding whitespace, and refuses any other
    character, so the text was clean exactly when it holds 4 characters per 3 bytes decoded:
    a length check, not a scan of megabytes for a line break.
    """
    padding = 2 if payload.endswith("==") else 1 if payload.endswith("=") else 0
    return bool(raw) and len(payload) == (len(raw) + padding) // 3 * 4


def _build(encoded: Encoded, source: str | None, url: str | None = None) -> PreparedImage:
    data, mime = encoded.data, encoded.mime_type
    if url is None:
        url = f"data:{mime};base64,{b64encode_str(data)}"
    return PreparedImage._made(  # noqa: SLF001 - the doors' own constructor
        url,
        mime,
        encoded.width,
        encoded.height,
        encoded.transformations,
        source,
        encoded.original_mime_type,
        encoded.original_width,
        encoded.original_height,
        data,
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
        # Line breaks carry nothing: counted only when the length alone passes the limit.
        at_least = len(payload) // 4 * 3 - 2
        if at_least > policy.max_input_bytes:
            at_least = (len(payload) - payload.count("\n")) // 4 * 3 - 2
        if at_least > policy.max_input_bytes:
            raise input_too_large(at_least, policy, at_least=True)
        uncached_work(at_least)  # the event loop's attempt decodes small inputs only
        raw = _decode_base64(payload)
    else:
        uncached_work(len(data))
        raw = data
    encoded = encode_bytes(raw, policy, declared)
    url: str | None = None
    if encoded.passthrough and payload is not None and _reusable(payload, raw):
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
    if len(data) >= HASHED_BELOW:  # small inputs hash in no time: by content at once
        try:
            held = by_identity(
                _CACHE,
                data,
                (declared, policy, source),
                lambda: _inline_uncached(data, declared, policy, source, data_url),
            )
        except ImageInputError as exc:
            raise _located(exc, source) from exc.__cause__
        if held is not None:
            return held
    key = ("inline", data, declared, policy, source)
    hit = _CACHE.get(key)
    if isinstance(hit, PreparedImage):
        return hit
    try:
        result = _inline_uncached(data, declared, policy, source, data_url)
    except ImageInputError as exc:
        raise _located(exc, source) from exc.__cause__
    _CACHE.put(key, result, entry_cost(data, result))
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


def prepare_fetched_image(raw: bytes, url: str, policy: ImagePolicy | None = None) -> PreparedImage:
    """Bytes fetched from ``url``, prepared like any inline image (cached by content).

    ``"fetched"`` leads the transformations: the URL became a data URL. Errors name the URL
    without its query string.
    """
    name = redact_url(url)
    try:
        # No source in the cache key: the same picture behind another URL (a new presigned
        # token) is prepared once.
        prepared = prepare_inline_image(raw, policy=policy)
    except ImageInputError as exc:
        raise _located(exc, name) from exc.__cause__
    return replace(prepared, source=name, transformations=("fetched", *prepared.transformations))


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
        fd = os.open(name, OPEN_FLAGS)
    except OSError as exc:
        raise _unreadable(name, exc) from exc
    try:
        try:
            # The raw descriptor, no file object: half the cost of reading a small image.
            return read_regular_fd(fd, max_bytes)
        finally:
            os.close(fd)
    except NotRegularFileError as exc:
        error = _unreadable(name, not_regular_file(exc.mode, name))
        raise error from error.__cause__
    except FileTooLargeError as exc:
        raise _too_large(name, exc.size, max_bytes) from None
    except OSError as exc:
        raise _unreadable(name, exc) from exc


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
    name = os.fspath(path)  # once: a pathlib path re-joins its parts for each str()
    raw = read_image_file(name, max_file_bytes)
    return _from_bytes(raw, policy or DEFAULT_POLICY, mime_type, name)


def _from_path(path: os.PathLike[str], policy: ImagePolicy, declared: str | None) -> PreparedImage:
    # A pathlib path's string is already the normal form Path() gives: no new Path object.
    name = os.fspath(path if isinstance(path, PurePath) else Path(os.fspath(path)))
    # prepare_image_file's two steps, without its frame: this runs for every file.
    return _from_bytes(read_image_file(name, MAX_FILE_BYTES), policy, declared, name)


def _from_str(
    text: str, policy: ImagePolicy, declared: str | None, fetch: FetchPolicy | None = None
) -> PreparedImage:
    kind = classify_url(text)
    if kind == "data":
        return prepare_inline_image(text, mime_type=declared, policy=policy)
    if fetch is not None and kind in ("https", "other_scheme"):
        # Asked for by the caller; the fetch policy decides which schemes (https by default).
        raw = fetch_image_bytes(text, fetch, max_bytes=policy.max_input_bytes)
        return prepare_fetched_image(raw, text, policy)
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
    check_pixels(width, height, policy)
    animated = check_animation(im, fmt, policy)
    orientation = 1
    if policy.exif_transpose:
        with pillow_errors():
            value = im.getexif().get(0x0112, 1)
        orientation = value if isinstance(value, int) else 1
    with pillow_errors():
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
            with pillow_errors():
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
        _sent=out.data,
    )


def _blob_class() -> type | None:
    # A Blob can only exist if langchain_core's module is loaded; don't import it to find out.
    module = sys.modules.get("langchain_core.documents.base")
    blob = getattr(module, "Blob", None)
    return blob if isinstance(blob, type) else None


def prepare_image(
    source: object,
    policy: ImagePolicy | None = None,
    *,
    mime_type: str | None = None,
    fetch: bool = False,
    fetch_policy: FetchPolicy | None = None,
) -> PreparedImage:
    """Prepare an image from the developer's own code (the trusted door).

    Args:
        source: A ``pathlib.Path`` or path string, ``bytes``/``bytearray``/``memoryview``, a binary
            file object, a ``PIL.Image.Image``, a LangChain ``Blob``, a data URL, base64 text, or an
            https URL (passed through untouched, unless ``fetch``).
        policy: Limits to meet (default :class:`ImagePolicy`).
        mime_type: The declared type, if known; the bytes decide, a mismatch is recorded.
        fetch: Fetch an https URL here, under ``fetch_policy``, and prepare its bytes like any
            other image (a data URL, downscaled), instead of passing the URL on.
        fetch_policy: The limits of that fetch (default :class:`FetchPolicy`); giving one
            implies ``fetch=True``.

    Returns:
        The prepared image.

    Raises:
        ImageInputError: When the source cannot be read or made into a valid image.
    """
    policy = policy or DEFAULT_POLICY
    if isinstance(source, str):
        fetching = fetch_policy or (FetchPolicy() if fetch else None)
        return _from_str(source, policy, mime_type, fetching)
    if isinstance(source, (PurePath, os.PathLike)):  # PurePath first: no ABC check for it
        return _from_path(source, policy, mime_type)
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = source if isinstance(source, bytes) else bytes(source)
        return prepare_inline_image(raw, mime_type=mime_type, policy=policy)
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


def blob_name(blob: Any) -> str | None:
    """What a LangChain ``Blob`` is called in errors and metadata: its source, else its path."""
    return blob.source or (str(blob.path) if blob.path else None)


def read_blob(blob: Any) -> bytes:
    """A LangChain ``Blob``'s bytes (a lazy ``Blob.from_path`` reads its file now).

    Raises:
        ImageInputError: The data cannot be read (reason ``UNREADABLE``), naming the blob.
    """
    try:
        return bytes(blob.as_bytes())
    except (OSError, ValueError) as exc:
        raise ImageInputError(
            f"cannot read the Blob's data: {exc}",
            reason=ImageErrorReason.UNREADABLE,
            source=blob_name(blob),
        ) from exc


def _from_blob(blob: Any, policy: ImagePolicy, declared: str | None) -> PreparedImage:
    return _from_bytes(read_blob(blob), policy, declared or blob.mimetype, blob_name(blob))


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
