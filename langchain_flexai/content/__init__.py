"""LangChain message content to FlexAI wire parts: the public face.

Recognising each content shape (`_shapes`), where an image comes from (`_parts`), images moved
out of tool results (`_tool_images`) and the message-list pass (`_messages`). Pure: never opens
a file or fetches a URL.
"""

from __future__ import annotations

from langchain_flexai.content._messages import (
    ImageStats,
    PreparedMessages,
    ToolImages,
    prepare_messages,
    shield_from_core,
)

__all__ = [
    "ImageStats",
    "PreparedMessages",
    "ToolImages",
    "prepare_messages",
    "shield_from_core",
]
