"""Recognise one LangChain content part and say what it means for FlexAI.

Knows the shapes of docs/images.md's table: OpenAI chat and Responses parts, LangChain v0 and v1
blocks (raw, and as langchain-core's ``_normalize_messages`` rewrites them), Anthropic, Gemini and
Bedrock shapes, ``non_standard`` wrappers, and the history blocks that never travel as content.
Each part becomes a :class:`TextPart`, a :class:`RemoteImage` (an https URL passed through
untouched), an :class:`InlineImage` (bytes for :mod:`langchain_flexai.images` to prepare), or
``None`` (dropped on purpose), or it raises an unlocated :class:`ImageInputError`.

Knows nothing about pixels: it never decodes base64 or looks at image bytes, and it never opens
a file or fetches a URL. What a URL or an inline payload may be is decided in
``_content_sources.py``; message roles, positions and counting belong to ``content.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langchain_flexai._urls import classify_url
from langchain_flexai.content._parts import (
    Part,
    TextPart,
    detail_of,
    file_data,
    file_reference,
    file_url,
    image_from_url,
    inline_image,
    unsupported,
)
from langchain_flexai.content._pdf_parts import PDF_MIME, pdf_not_fetched, pdf_reference

# Blocks that record a model's own reasoning or tool traffic. They are never content: tool calls
# travel as ``tool_calls`` and results as tool messages, so these are dropped wherever they appear.
HISTORY_BLOCK_TYPES = frozenset(
    {
        "reasoning",
        "reasoning_content",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "tool_call",
        "tool_call_chunk",
        "invalid_tool_call",
        "function_call",
        "server_tool_call",
        "server_tool_call_chunk",
        "server_tool_result",
        "server_tool_use",
        "code_interpreter_call",
    }
)

# What a refused block is, in words, for the error message.
_UNSUPPORTED_TYPES: dict[str, str] = {
    "audio": "an audio block",
    "input_audio": "an audio block",
    "video": "a video block",
    "text-plain": "a text-plain (file) block",
    "tool_result": ("an Anthropic tool_result block (send tool results as a ToolMessage)"),
    "search_result": "a search_result block",
    "input_file": "a file block",
}

_MAX_NESTING = 4


def core_would_mangle(part: object) -> bool:
    """Whether langchain-core's own pre-processing would break or rewrite this part.

    Before a chat model sees messages, core runs ``_format_for_tracing`` (converts image blocks
    for callbacks; raises on base64 without ``mime_type``) and ``_normalize_messages`` (rewrites v0
    and OpenAI ``file`` / ``input_audio`` blocks to v1: raises on a v0 block carrying an ``id``,
    drops keys, relabels image files ``application/pdf``). Such parts are wrapped in a
    ``non_standard`` block by :func:`langchain_flexai.content.shield_from_core`, which core leaves
    alone and :func:`recognize_part` unwraps, so they arrive exactly as written.
    """
    if not isinstance(part, Mapping) or "type" not in part:
        return False
    block_type = part["type"]
    if not isinstance(block_type, str):
        # Core tests ``type`` against sets: an unhashable one raises TypeError there.
        return True
    v0_block = block_type in {"image", "audio", "file"} and "source_type" in part
    openai_data = block_type == "input_audio" or (
        block_type == "file" and isinstance(part.get("file"), Mapping)
    )
    # v1 image blocks core converts safely (and shows as images in traces) stay as they are.
    unsafe_v1_image = block_type == "image" and not (
        "url" in part or "file_id" in part or ("base64" in part and "mime_type" in part)
    )
    return v0_block or openai_data or unsafe_v1_image


def recognize_part(part: object) -> Part | None:
    """Say what one content part means for FlexAI.

    Args:
        part: One item of a message's content list.

    Returns:
        The part's meaning, or ``None`` for a history block that is dropped on purpose.

    Raises:
        ImageInputError: Unlocated; the caller adds the message and part index.
    """
    return _recognize(part, 0)


def _recognize(part: object, depth: int) -> Part | None:
    if isinstance(part, str):
        return TextPart(part)
    if not isinstance(part, Mapping):
        raise unsupported(f"a content part of type {type(part).__name__}")
    block_type = part.get("type")
    if block_type is None:
        return _untyped(part)
    if not isinstance(block_type, str):
        raise unsupported(f"a content part with type {block_type!r}")
    if block_type in HISTORY_BLOCK_TYPES:
        return None
    handler = _HANDLERS.get(block_type)
    if handler is not None:
        return handler(part)
    if block_type == "non_standard":
        return _non_standard(part, depth)
    what = _UNSUPPORTED_TYPES.get(block_type, f"a {block_type!r} block")
    raise unsupported(what)


# -- text ---------------------------------------------------------------------------------------


def _text(part: Mapping[str, Any]) -> Part:
    text = part.get("text")
    if not isinstance(text, str):
        raise unsupported("a text part without a string 'text'")
    return TextPart(text)


def _refusal(part: Mapping[str, Any]) -> Part:
    # An assistant refusal replayed from history; FlexAI has no refusal part, so it is its text.
    text = part.get("refusal")
    if not isinstance(text, str):
        raise unsupported("a refusal part without a string 'refusal'")
    return TextPart(text)


# -- images -------------------------------------------------------------------------------------


def _image_url(part: Mapping[str, Any]) -> Part:
    image_url = part.get("image_url")
    if isinstance(image_url, str):
        # Row 4: the string form some providers accept; FlexAI wants the object form.
        return image_from_url(image_url, detail_of(part), what="an image_url part")
    if isinstance(image_url, Mapping):
        # Row 5: ``detail`` inside ``image_url`` wins; next to it is accepted and moved inside.
        detail = detail_of(image_url) or detail_of(part)
        return image_from_url(image_url.get("url"), detail, what="an image_url part")
    raise unsupported("an image_url part without a URL")


def _input_image(part: Mapping[str, Any]) -> Part:
    # OpenAI Responses-style input image, sometimes pasted into chat messages.
    if (file_id := part.get("file_id")) is not None:
        raise file_reference("an input_image part", file_id)
    return image_from_url(part.get("image_url"), detail_of(part), what="an input_image part")


def _image(part: Mapping[str, Any]) -> Part:
    detail = detail_of(part)
    if "source_type" in part:
        return _v0_image(part, detail)
    source = part.get("source")
    if isinstance(source, Mapping):
        return _anthropic_image(source, detail)
    if (data := part.get("base64")) is not None:
        return inline_image(data, part.get("mime_type"), detail, what="an image block")
    if (url := part.get("url")) is not None:
        return image_from_url(url, detail, what="an image block", mime_type=part.get("mime_type"))
    if (file_id := part.get("file_id")) is not None:
        raise file_reference("an image block", file_id)
    raise unsupported("an image block without url, base64 or source")


def _v0_image(part: Mapping[str, Any], detail: str | None) -> Part:
    source_type = part.get("source_type")
    if source_type == "base64":
        return inline_image(part.get("data"), part.get("mime_type"), detail, what="an image block")
    if source_type == "url":
        return image_from_url(part.get("url"), detail, what="an image block")
    if source_type == "id":
        # Named as core's normalisation names it (a v1 ``file_id`` block): one message per shape.
        raise file_reference("an image block", part.get("id"))
    raise unsupported(f"an image block with source_type {source_type!r}")


def _anthropic_image(source: Mapping[str, Any], detail: str | None) -> Part:
    kind = source.get("type")
    if kind == "base64":
        return inline_image(
            source.get("data"), source.get("media_type"), detail, what="an Anthropic image block"
        )
    if kind == "url":
        return image_from_url(source.get("url"), detail, what="an Anthropic image block")
    if kind == "file":
        raise file_reference("an Anthropic image block with a file source", source.get("file_id"))
    raise unsupported(f"an Anthropic image block with source type {kind!r}")


# -- files and provider media -------------------------------------------------------------------


def _file(part: Mapping[str, Any]) -> Part:
    nested = part.get("file")
    if isinstance(nested, Mapping):
        return _openai_file(nested)
    if "source_type" in part:
        return _v0_file(part)
    mime = part.get("mime_type")
    what = _file_what(part, mime)
    name = _file_name(part)
    if (data := part.get("base64")) is not None:
        return file_data(data, mime, detail_of(part), what, name=name)
    if (url := part.get("url")) is not None:
        return file_url(url, mime, detail_of(part), what, name=name)
    if (file_id := part.get("file_id")) is not None:
        raise _file_id_refusal(what, mime, file_id)
    raise unsupported(f"{what} without url, base64 or file_id")


def _openai_file(nested: Mapping[str, Any]) -> Part:
    # The raw OpenAI shape, seen when prepare_messages is called directly or when core could not
    # parse ``file_data`` (bare base64 instead of a data URL).
    what = _file_what(nested, None)
    if (file_id := nested.get("file_id")) is not None:
        raise _file_id_refusal(what, None, file_id, nested)
    if (data := nested.get("file_data")) is not None:
        return file_data(data, None, None, what, name=_file_name(nested))
    raise unsupported(f"{what} without file_data")


def _v0_file(part: Mapping[str, Any]) -> Part:
    source_type = part.get("source_type")
    mime = part.get("mime_type")
    what = _file_what(part, mime)
    name = _file_name(part)
    if source_type == "base64":
        return file_data(part.get("data"), mime, detail_of(part), what, name=name)
    if source_type == "url":
        return file_url(part.get("url"), mime, detail_of(part), what, name=name)
    if source_type == "id":
        raise _file_id_refusal(what, mime, part.get("id"), part)
    if source_type == "text":
        raise unsupported("a text file block (source_type 'text')")
    raise unsupported(f"a file block with source_type {source_type!r}")


def _media(part: Mapping[str, Any]) -> Part:
    # langchain-google-genai's ``{"type": "media", "mime_type": ..., "data" | "file_uri": ...}``.
    mime = part.get("mime_type")
    what = f"a media block ({mime})" if isinstance(mime, str) else "a media block"
    if (data := part.get("data")) is not None:
        return file_data(data, mime, detail_of(part), what)
    if (uri := part.get("file_uri")) is not None:
        return file_url(uri, mime, detail_of(part), what)
    raise unsupported(f"{what} without data or file_uri")


def _gemini_inline(blob: object) -> Part:
    if not isinstance(blob, Mapping):
        raise unsupported("an inline_data part without a blob")
    mime = blob.get("mime_type", blob.get("mimeType"))
    what = f"an inline_data part ({mime})" if isinstance(mime, str) else "an inline_data part"
    return file_data(blob.get("data"), mime, None, what)


def _gemini_file_data(blob: Mapping[str, Any]) -> Part:
    mime = blob.get("mime_type", blob.get("mimeType"))
    uri = blob.get("file_uri", blob.get("fileUri"))
    what = f"a file_data part ({mime})" if isinstance(mime, str) else "a file_data part"
    return file_url(uri, mime, None, what)


def _typed_inline_data(part: Mapping[str, Any]) -> Part:
    blob = part.get("inline_data", part.get("inlineData"))
    return _gemini_inline(blob if blob is not None else part)


def _typed_file_data(part: Mapping[str, Any]) -> Part:
    blob = part.get("file_data", part.get("fileData"))
    return _gemini_file_data(blob if isinstance(blob, Mapping) else part)


def _bedrock_image(image: object) -> Part:
    if not isinstance(image, Mapping):
        raise unsupported("a Bedrock image part without an image object")
    fmt = image.get("format")
    mime = f"image/{fmt}" if isinstance(fmt, str) and fmt else None
    source = image.get("source")
    if isinstance(source, Mapping):
        if (data := source.get("bytes")) is not None:
            return inline_image(data, mime, None, what="a Bedrock image part")
        if isinstance(location := source.get("s3Location"), Mapping):
            uri = location.get("uri")
            return image_from_url(uri, None, what="a Bedrock image part")
    raise unsupported("a Bedrock image part without source bytes")


def _untyped(part: Mapping[str, Any]) -> Part:
    # Provider shapes keyed by their payload rather than by "type".
    if set(part) == {"text"}:
        return _text(part)
    if "image" in part:
        return _bedrock_image(part["image"])
    if "inline_data" in part or "inlineData" in part:
        return _gemini_inline(part.get("inline_data", part.get("inlineData")))
    if isinstance(blob := part.get("file_data", part.get("fileData")), Mapping):
        return _gemini_file_data(blob)
    for key in ("document", "video", "audio"):
        if key in part:
            raise unsupported(f"a Bedrock {key} part")
    raise unsupported("a content part without a 'type'")


def _non_standard(part: Mapping[str, Any], depth: int) -> Part | None:
    value = part.get("value")
    if not isinstance(value, Mapping) or depth >= _MAX_NESTING:
        raise unsupported("a non_standard block")
    # Row 14: core wraps shapes it does not know (an image_url with extra keys, say); the
    # wrapped part is judged on its own.
    return _recognize(value, depth + 1)


def _document(part: Mapping[str, Any]) -> Part:
    # Anthropic's ``{"type": "document", "source": {...}, "title": ...}``: a PDF (or text) file.
    source = part.get("source")
    if not isinstance(source, Mapping):
        raise unsupported("a document block without a source")
    kind = source.get("type")
    mime = source.get("media_type")
    name = part.get("title")
    what = (
        f"an Anthropic document block ({name})"
        if isinstance(name, str)
        else ("an Anthropic document block")
    )
    if kind == "base64":
        return file_data(source.get("data"), mime, detail_of(part), what, name=name)
    if kind == "url":
        url = source.get("url")
        if isinstance(url, str) and classify_url(url.strip()) == "data":
            return file_data(url.strip(), mime, detail_of(part), what, name=name)
        raise pdf_not_fetched(what, url if isinstance(url, str) else None)
    if kind == "file":
        raise pdf_reference(what, source.get("file_id"))
    raise unsupported(f"{what} with source type {kind!r}")


def _file_name(block: Mapping[str, Any]) -> str | None:
    """The file name a file block carries: ``filename``, or in ``extras`` / ``metadata``."""
    for holder in (block, block.get("extras"), block.get("metadata")):
        if isinstance(holder, Mapping):
            for key in ("filename", "name", "title"):
                value = holder.get(key)
                if isinstance(value, str) and value.strip():
                    return value
    return None


def _file_id_refusal(
    what: str, mime: object, file_id: object, block: Mapping[str, Any] | None = None
) -> Exception:
    name = _file_name(block) if block is not None else None
    is_pdf = (isinstance(mime, str) and mime.lower() == PDF_MIME) or (
        name is not None and name.lower().endswith(".pdf")
    )
    return pdf_reference(what, file_id) if is_pdf else file_reference(what, file_id)


def _file_what(block: Mapping[str, Any], mime: object) -> str:
    name = block.get("filename")
    if not isinstance(name, str):
        extras = block.get("extras")
        name = extras.get("filename") if isinstance(extras, Mapping) else None
    label = [x for x in (mime if isinstance(mime, str) else None, name) if isinstance(x, str)]
    return f"a file block ({', '.join(label)})" if label else "a file block"


_HANDLERS: dict[str, Callable[[Mapping[str, Any]], Part]] = {
    "text": _text,
    "input_text": _text,
    "refusal": _refusal,
    "image_url": _image_url,
    "input_image": _input_image,
    "image": _image,
    "file": _file,
    "document": _document,
    "media": _media,
    "inline_data": _typed_inline_data,
    "file_data": _typed_file_data,
}
