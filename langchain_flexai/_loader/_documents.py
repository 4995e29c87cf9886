"""Prepared images as LangChain Documents and back: metadata, stand-in text, vision messages.

Knows the metadata keys of an image Document, how a Document (possibly retrieved from a vector
store, so untrusted) becomes a vision-ready ``HumanMessage`` again, and the shape of every
"prompt + image" message the package builds (:func:`vision_message`). Knows nothing about files,
walking or models. It never opens a file or fetches a URL: a Document's image travels inside it.

Why the image sits in the metadata by default (``image_url``, a data URL of the *prepared* image):
a Document that is stored, retrieved and handed back to the model must carry its pixels, because
the original path may not exist where the Document is retrieved, and opening a path read from a
vector store would let stored data make the library read local files. The prepared image is
already within the policy (at most 2048 px, usually tens to hundreds of kB), and Documents are
yielded lazily, so memory does not grow with the folder. Stores that cap metadata size (some cap
it at 40 kB) take ``include_image=False``; such Documents are text only.
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.document_loaders import Blob
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_flexai._loader._walk import printable_path
from langchain_flexai._urls import classify_url
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_https_image, prepare_inline_image
from langchain_flexai.images._npy import array_of, read_npy_header
from langchain_flexai.images._policy import DEFAULT_POLICY, ImagePolicy
from langchain_flexai.images._prepared import PreparedImage

IMAGE_URL_KEY = "image_url"
"""The metadata key holding the prepared image as a data URL."""

_KIB = 1024


def _human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    if size < _KIB:
        return f"{size} B"
    if size < _KIB * _KIB:
        return f"{size / _KIB:.0f} KB"
    return f"{size / (_KIB * _KIB):.1f} MB"


def stand_in_text(image: PreparedImage, file_name: str | None, file_size: int | None) -> str:
    """A short text for ``page_content`` when no description was asked for.

    Vector stores and embedders need non-empty text; this names the file, the format and the
    size, e.g. ``"Image IMG_0042.HEIC: HEIF 4032×3024, 2.1 MB (sent as JPEG 1536×2048)"``.
    """
    name = file_name or "(unnamed)"
    fmt = _format_name(image.original_mime_type or image.mime_type)
    original = f"{image.original_width}×{image.original_height}"
    sent = f"{image.width}×{image.height}"
    text = f"Image {name}: {fmt} {original}, {_human_size(file_size)}"
    sent_fmt = _format_name(image.mime_type)
    if sent != original or sent_fmt != fmt:
        text += f" (sent as {sent_fmt} {sent})"
    return text


def _format_name(mime: str | None) -> str:
    if not mime:
        return "image"
    return mime.rsplit("/", 1)[-1].upper()


def image_metadata(
    image: PreparedImage, file_size: int | None, *, include_image: bool
) -> dict[str, Any]:
    r"""The Document metadata of a prepared image (scalars and one list of strings).

    Every string encodes as UTF-8: a file name that is not valid UTF-8 has its undecodable bytes
    written as ``\xNN`` in ``source`` and ``file_name`` (the Document carries its image, so
    nothing needs to open the path again).
    """
    source = printable_path(image.source) if image.source is not None else None
    metadata: dict[str, Any] = {
        "source": source,
        "file_name": os.path.basename(source) if source else None,  # noqa: PTH119 - str in, str out
        "file_size": file_size,
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "original_mime_type": image.original_mime_type,
        "original_width": image.original_width,
        "original_height": image.original_height,
        "sha256": image.sha256,
        "transformations": list(image.transformations),
    }
    if include_image:
        metadata[IMAGE_URL_KEY] = image.url
    return metadata


def image_document(
    image: PreparedImage,
    file_size: int | None,
    *,
    description: str | None,
    include_image: bool,
) -> Document:
    """A Document for one image: the description (or a stand-in) and the metadata."""
    metadata = image_metadata(image, file_size, include_image=include_image)
    text = description if description is not None else None
    if text is None:
        text = stand_in_text(image, metadata["file_name"], file_size)
    return Document(page_content=text, metadata=metadata)


def vision_content(text: str | None, image_block: dict[str, Any]) -> list[dict[str, Any]]:
    """The content of a "prompt + image" message: the text as given (unless None), then the image.

    The one place this shape is built: describe requests, the vision tool's question, the
    loader's messages, a retrieved Document's message, the CLI's request and a tool's image
    result all use it. An empty string is sent as an (empty) text part; callers for whom an
    empty prompt means "the image alone" pass None.
    """
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    content.append(image_block)
    return content


def vision_message(text: str | None, image_block: dict[str, Any]) -> HumanMessage:
    """A ``HumanMessage`` of :func:`vision_content`: the prompt, then the image."""
    content: list[str | dict[str, Any]] = [*vision_content(text, image_block)]
    return HumanMessage(content=content)


def document_image_block(
    document: Document, *, detail: str | None = None, policy: ImagePolicy | None = None
) -> dict[str, Any]:
    """The image block of a Document's ``image_url`` metadata, validated as untrusted data.

    Raises:
        ImageInputError: No image in the metadata, or one that is not a data URL or a valid
            https URL (a path is refused: a retrieved Document never makes us open a file).
    """
    source = document.metadata.get("source")
    source = source if isinstance(source, str) else None
    url = document.metadata.get(IMAGE_URL_KEY)
    if not isinstance(url, str) or not url:
        raise ImageInputError(
            f"the Document has no image: its metadata lacks {IMAGE_URL_KEY!r}. Load it with "
            "include_image=True (the default), or load the file again with FlexAIImageLoader",
            reason=ImageErrorReason.UNSUPPORTED_SOURCE,
            source=source,
        )
    kind = classify_url(url)
    if kind == "data":
        return prepare_inline_image(url, policy=policy, source=source).to_content_block(detail)
    if kind == "https":
        return prepare_https_image(url).to_content_block(detail)
    raise ImageInputError(
        f"the Document's {IMAGE_URL_KEY!r} is neither a data URL nor an https URL; "
        "a path found in a Document is never opened",
        reason=ImageErrorReason.UNSUPPORTED_URL,
        source=url,
    )


def document_to_message(
    document: Document,
    prompt: str | None = None,
    *,
    detail: str | None = None,
    policy: ImagePolicy | None = None,
) -> HumanMessage:
    """A retrieved image Document as a vision-ready ``HumanMessage`` (prompt text, then image)."""
    block = document_image_block(document, detail=detail, policy=policy)
    return vision_message(prompt or None, block)  # "" or None: the image alone


def image_from_npy(
    data: bytes, source: str | None, max_pixels: int = DEFAULT_POLICY.max_decode_pixels
) -> Image.Image:
    """A PIL image from ``.npy`` bytes (how community PDF loaders hand over extracted images).

    Accepts arrays shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), made 8-bit by one rule for
    the whole array (so values keep their order; nothing wraps around):

    - ``uint8``: as is. ``bool``: False is 0, True is 255.
    - Other integers (negative values count as 0): if every value fits 0-255 they are 8-bit
      samples in a wider type (numpy's default ``int64``) and kept; if they fit 0-65535 they are
      16-bit samples and divided by 256; beyond that they are scaled from the type's whole range
      (``int32``: 0..2**31-1 to 0..255).
    - Floats (NaN counts as 0): if the largest value is at most 1 the array is in unit range,
      0.0-1.0 becomes 0-255; otherwise it is already in 0-255 (as ``float`` images of 8-bit
      data usually are) and is clipped to it and rounded.

    The header is checked first (:mod:`langchain_flexai.images._npy`): a shape of more than
    ``max_pixels`` pixels, or one the bytes present cannot fill, is refused before numpy
    allocates anything.

    Raises:
        ImageInputError: numpy is missing (``MISSING_EXTRA``), or the bytes are not an image array.
    """
    try:
        import numpy as np  # noqa: PLC0415 - optional: only .npy blobs need it
    except ImportError as exc:
        raise ImageInputError(
            "application/x-npy blobs need numpy: pip install numpy",
            reason=ImageErrorReason.MISSING_EXTRA,
            source=source,
        ) from exc
    array = array_of(np, data, read_npy_header(np, data, max_pixels, source))
    if array.ndim == 3 and array.shape[2] == 1:  # noqa: PLR2004 - (H, W, 1)
        array = array[:, :, 0]
    channels = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else 0)  # noqa: PLR2004
    if channels not in (1, 3, 4) or array.size == 0:
        raise ImageInputError(
            f"a .npy image must be shaped (H, W), (H, W, 3) or (H, W, 4); got {array.shape}",
            reason=ImageErrorReason.NOT_AN_IMAGE,
            source=source,
        )
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":
        array = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if float(array.max()) <= 1.0 else 1.0
        array = (np.clip(array * scale, 0.0, 255.0) + 0.5).astype(np.uint8)
    elif array.dtype.kind in "iu" and array.dtype != np.uint8:
        array = _integers_to_8_bits(np, array)
    elif array.dtype != np.uint8:
        raise ImageInputError(
            f"a .npy image must hold numbers; got dtype {array.dtype}",
            reason=ImageErrorReason.NOT_AN_IMAGE,
            source=source,
        )
    # uint8 (H, W) / (H, W, 3) / (H, W, 4) map to L / RGB / RGBA.
    return Image.fromarray(np.ascontiguousarray(array))


def _integers_to_8_bits(np: Any, array: Any) -> Any:
    """Integer samples to ``uint8`` by the rule in :func:`image_from_npy`."""
    array = np.clip(array, 0, None)
    top = int(array.max())
    if top <= 255:  # noqa: PLR2004 - 8-bit samples in a wider type
        return array.astype(np.uint8)
    if top <= 65535:  # noqa: PLR2004 - 16-bit samples
        return (array >> 8).astype(np.uint8)
    full = float(np.iinfo(array.dtype).max)
    return (array.astype(np.float64) * (255.0 / full) + 0.5).astype(np.uint8)


def blob_size(blob: Blob) -> int | None:
    """A Blob's size in bytes for ``file_size`` (its data, else its file; None when unknown)."""
    data: Any = blob.data
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, str):
        return len(data.encode(blob.encoding))
    if blob.path is not None:
        try:
            return os.stat(blob.path).st_size  # noqa: PTH116 - path may be a str
        except OSError:
            return None
    return None
