"""langchain-openai's request payload for messages we prepared, without re-inspecting our parts.

langchain-openai turns each message into a dict and, on the way, inspects every content block
(``is_data_content_block`` resolves a TypedDict's type hints per block: about 1 ms per image part)
to convert LangChain's standard blocks. Prepared messages (:class:`WireMessages`) hold only FlexAI
wire parts (``text`` with ``type`` and ``text`` only, and ``image_url``), which that conversion
passes through unchanged for user, system and tool messages. So their content lists are held
aside, the payload is built from copies without them, and the lists go back into the message dicts
they came from. Assistant messages (tool calls, v1 conversion) are left to langchain-openai.

Knows the shape of langchain-openai's chat completions payload (``messages``, one dict per
message, in order); knows nothing about images or the transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_flexai.content._messages import PreparedMessages, WireMessages

__all__ = ["payload_with_wire_parts"]

_PASSED_THROUGH = (HumanMessage, SystemMessage, ToolMessage)


def payload_with_wire_parts(
    wire: WireMessages, build: Callable[[WireMessages], dict[str, Any]]
) -> dict[str, Any]:
    """``build(wire)``, with the content lists of ``wire`` kept out of langchain-openai's hands.

    ``build`` is langchain-openai's payload step. A payload of another shape (the Responses API
    has no ``messages``) is built again from ``wire`` as it is.
    """
    held: dict[int, list[Any]] = {}
    light: list[BaseMessage] = []
    for index, message in enumerate(wire):
        if isinstance(message, _PASSED_THROUGH) and isinstance(message.content, list):
            held[index] = message.content
            message = message.model_copy(update={"content": ""})  # noqa: PLW2901
        light.append(message)
    if not held:
        return build(wire)
    payload = build(WireMessages.of(PreparedMessages(light, wire.stats)))
    messages = payload.get("messages")
    if not isinstance(messages, list) or len(messages) != len(wire):
        return build(wire)
    for index, parts in held.items():
        messages[index]["content"] = list(parts)
    return payload
