"""FlexAI's non-OpenAI ``reasoning_content`` field, read from responses and stream chunks.

Some reasoning models answer with ``message.reasoning_content`` (``delta.reasoning_content`` when
streaming). The openai SDK keeps it only in ``model_extra`` and ``BaseChatOpenAI`` drops it; the
chat model puts it in ``additional_kwargs``. Knows nothing about messages beyond those fields.
"""

from __future__ import annotations

from typing import Any

import openai

__all__ = ["reasoning_of_choices", "reasoning_of_chunk"]


def reasoning_of_choices(response: dict[str, Any] | openai.BaseModel) -> list[object]:
    """Each choice's `reasoning_content`: a field the SDK keeps only in `model_extra`.

    Read from the objects, not a `model_dump()` of the whole response: that copy costs as much as
    the parse, and warns about the `parsed` field of structured-output responses.
    """
    if isinstance(response, dict):
        return [(c.get("message") or {}).get("reasoning_content") for c in response["choices"]]
    return [
        (getattr(choice.message, "model_extra", None) or {}).get("reasoning_content")
        for choice in getattr(response, "choices", None) or []
    ]


def reasoning_of_chunk(chunk: dict[str, Any]) -> str | None:
    """The first choice's ``delta.reasoning_content`` of a stream chunk, when it has any."""
    choices = chunk.get("choices") or []
    if not choices:
        return None
    reasoning = (choices[0].get("delta") or {}).get("reasoning_content")
    return reasoning if isinstance(reasoning, str) and reasoning else None
