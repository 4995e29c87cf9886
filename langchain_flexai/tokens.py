"""Token estimates for FlexAI models, offline: text by a rule of thumb, images by family arithmetic.

What it knows: which preprocessing family a FlexAI model id belongs to (by name pattern) and how
many prompt tokens an image of a given size costs in that family (both from ``_token_rules``,
re-exported here), and a documented approximation for text. It counts whole message lists in any
LangChain content shape by running them through ``content.prepare_messages`` (so images are
counted after the ImagePolicy's resize, exactly as they will be sent) and reading each image's
size from its header.

What it does not do: download a tokenizer, fetch an https image (its size is unknown, so the
family's documented default is used), or open a file. Estimates, not invoices: the server's
``usage.prompt_tokens`` is the truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_flexai._token_rules import (
    UNKNOWN_IMAGE_SIZE,
    ImageFamily,
    estimate_image_tokens,
    image_family,
)
from langchain_flexai.content._messages import ToolImages, prepare_messages
from langchain_flexai.images._doors import prepare_inline_image

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_flexai.images._policy import ImagePolicy

__all__ = [
    "BYTES_PER_TEXT_TOKEN",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_REPLY",
    "UNKNOWN_IMAGE_SIZE",
    "ImageFamily",
    "count_message_tokens",
    "estimate_image_tokens",
    "estimate_text_tokens",
    "image_family",
    "text_token_ids",
]

BYTES_PER_TEXT_TOKEN = 4
"""Text rule of thumb: one token per 4 UTF-8 bytes, rounded up.

Byte-based rather than character-based so that scripts that need more tokens per character (CJK,
emoji) are not undercounted as badly as a 4-characters rule would. The BPE vocabularies of the
models FlexAI serves (150k-260k entries) average about 4 bytes per token on English prose; code,
numbers and rare words take more tokens.
"""

TOKENS_PER_MESSAGE = 4
"""Chat-template overhead per message (turn start and end markers, role name, newline)."""

TOKENS_PER_REPLY = 3
"""Overhead once per request: the template's opening of the assistant turn."""


def estimate_text_tokens(text: str) -> int:
    """Estimate the tokens of ``text``: one per ``BYTES_PER_TEXT_TOKEN`` UTF-8 bytes, rounded up."""
    if not text:
        return 0
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TEXT_TOKEN)


def text_token_ids(text: str) -> list[int]:
    """Stand-in token ids, one per ``BYTES_PER_TEXT_TOKEN`` UTF-8 bytes: the value of each slice.

    Not any model's vocabulary ids (no tokenizer is downloaded); their count is exactly
    :func:`estimate_text_tokens`, and equal texts give equal ids.
    """
    data = text.encode("utf-8")
    step = BYTES_PER_TEXT_TOKEN
    return [int.from_bytes(data[i : i + step], "big") for i in range(0, len(data), step)]


def _image_size(url: str, policy: ImagePolicy | None) -> tuple[int | None, int | None]:
    """Width and height of an image part as it will be sent; (None, None) for an https URL."""
    if not url.startswith("data:"):
        return None, None  # never fetched: the family default applies
    # Inline images are already policy-compliant here: this is a header probe (or a cache hit).
    prepared = prepare_inline_image(url, policy=policy)
    return prepared.width, prepared.height


def _non_content_text(message: BaseMessage) -> str:
    """Text a message carries besides its content: name, tool calls, tool call id."""
    # The role itself is part of TOKENS_PER_MESSAGE.
    pieces: list[str] = []
    if message.name:
        pieces.append(message.name)
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        pieces.extend(
            json.dumps({"name": call["name"], "arguments": call["args"]}, ensure_ascii=False)
            for call in tool_calls
        )
    tool_call_id = getattr(message, "tool_call_id", None)
    if isinstance(tool_call_id, str):
        pieces.append(tool_call_id)
    return " ".join(pieces)


def _content_tokens(content: str | list[Any], model: str, policy: ImagePolicy | None) -> int:
    if isinstance(content, str):
        return estimate_text_tokens(content)
    total = 0
    for part in content:
        if isinstance(part, str):
            total += estimate_text_tokens(part)
        elif part.get("type") == "image_url":
            width, height = _image_size(part["image_url"]["url"], policy)
            total += estimate_image_tokens(model, width, height)
        else:
            total += estimate_text_tokens(str(part.get("text", "")))
    return total


def _tool_tokens(tools: Sequence[Any]) -> int:
    schemas = [convert_to_openai_tool(tool) for tool in tools]
    return estimate_text_tokens(json.dumps(schemas, ensure_ascii=False))


def count_message_tokens(
    messages: Sequence[BaseMessage],
    *,
    model: str,
    policy: ImagePolicy | None = None,
    tools: Sequence[Any] | None = None,
    tool_images: ToolImages = "user_message",
) -> int:
    """Estimate the prompt tokens ``messages`` cost on ``model``, without any network access.

    The messages are first mapped to FlexAI wire parts by ``content.prepare_messages`` with the
    same ``policy`` the chat model uses, so every content shape is understood, images are counted
    at the size they will be sent (after downscaling), and bad input raises the same
    ``ImageInputError`` sending would. Inline images are measured from their header; https images
    are never fetched and count as ``UNKNOWN_IMAGE_SIZE``.

    Args:
        messages: The messages to count.
        model: The FlexAI model id (selects the image rule).
        policy: The ImagePolicy images are prepared with (``None``: the default policy).
        tools: Tools bound to the request (anything ``convert_to_openai_tool`` accepts); their
            JSON schemas are counted as text.
        tool_images: Where images returned by tools go, as the chat model will send them.

    Returns:
        The estimated ``prompt_tokens``.
    """
    prepared = prepare_messages(messages, policy=policy, tool_images=tool_images)
    total = TOKENS_PER_REPLY
    for message in prepared.messages:
        total += TOKENS_PER_MESSAGE
        total += estimate_text_tokens(_non_content_text(message))
        total += _content_tokens(message.content, model, policy)
    if tools:
        total += _tool_tokens(tools)
    return total
