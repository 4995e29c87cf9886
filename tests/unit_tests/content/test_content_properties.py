"""prepare_messages on random content: valid FlexAI parts or an ImageInputError, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_flexai import prepare_messages
from langchain_flexai.content._tool_images import TOOL_IMAGE_NOTE
from langchain_flexai.errors import ImageInputError
from tests.unit_tests.content_samples import (
    B64_PNG,
    DATA_PNG,
    HTTPS,
    img,
    text,
    through,
)

# -- property: any content list gives valid wire parts or an ImageInputError --------------------

_leaf = st.one_of(
    st.text(max_size=8),
    st.none(),
    st.integers(),
    st.binary(max_size=16),
    st.sampled_from(
        [
            HTTPS,
            DATA_PNG,
            B64_PNG,
            "http://example.com/x",
            "/var/data/a.png",
            "file:///a",
            "data:,x",
            "low",
            "high",
            "image/png",
            "application/pdf",
            "url",
            "base64",
            "id",
            "image",
            "file",
        ]
    ),
)
_keys = st.sampled_from(
    [
        "type",
        "text",
        "image_url",
        "url",
        "detail",
        "base64",
        "mime_type",
        "source_type",
        "data",
        "source",
        "file",
        "file_data",
        "file_id",
        "value",
        "extras",
        "media_type",
        "image",
        "bytes",
        "format",
        "inline_data",
        "file_uri",
        "id",
        "cache_control",
    ]
)
_types = st.sampled_from(
    [
        "text",
        "image_url",
        "image",
        "file",
        "media",
        "non_standard",
        "reasoning",
        "tool_use",
        "audio",
        "video",
        "text-plain",
        "input_image",
        "refusal",
        "thinking",
        "input_audio",
        "other",
    ]
)
_block = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.dictionaries(_keys, children, max_size=5),
        st.builds(
            lambda t, d: {**d, "type": t}, _types, st.dictionaries(_keys, children, max_size=4)
        ),
    ),
    max_leaves=12,
)
_item = st.one_of(
    st.text(max_size=10),
    _block.filter(lambda b: isinstance(b, dict)),
    st.sampled_from(
        [img(HTTPS), img(DATA_PNG, "low"), {"type": "image", "base64": B64_PNG}, text("t")]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_item, max_size=6), st.sampled_from(["human", "tool", "ai", "system"]))
def test_any_content_gives_valid_parts_or_image_input_error(items: list[Any], kind: str) -> None:
    message: BaseMessage
    if kind == "human":
        message = HumanMessage(content=items)
    elif kind == "tool":
        message = ToolMessage(content=items, tool_call_id="call_x")
    elif kind == "ai":
        message = AIMessage(content=items)
    else:
        message = SystemMessage(content=items)
    error: ImageInputError | None = None
    try:
        out = prepare_messages([message]).messages
    except ImageInputError as err:
        error = err
    if error is not None:
        assert error.message_index == 0
        assert error.part_index is not None
        assert 0 <= error.part_index < len(items)
        return
    texts_in = [
        i if isinstance(i, str) else i.get("text")
        for i in items
        if isinstance(i, str) or i.get("type") == "text"
    ]
    texts_out: list[str] = []
    for m in out:
        if isinstance(m.content, str):
            continue
        for part in m.content:
            assert isinstance(part, dict)
            if part["type"] == "text":
                assert set(part) == {"type", "text"}
                assert isinstance(part["text"], str)
                if part["text"] != TOOL_IMAGE_NOTE and m is out[0]:
                    texts_out.append(part["text"])
            else:
                assert part["type"] == "image_url"
                assert set(part) == {"type", "image_url"}
                assert set(part["image_url"]) <= {"url", "detail"}
                url = part["image_url"]["url"]
                assert url.startswith(("https://", "data:image/"))
                assert part["image_url"].get("detail", "auto") in {"auto", "low", "high"}
    # Text keeps its order (other parts may add text, e.g. Gemini {"text": ...}, between them).
    iterator = iter(texts_out)
    assert all(any(t == o for o in iterator) for t in texts_in)


def _outcome(messages: list[BaseMessage]) -> tuple[Any, ...]:
    try:
        out = prepare_messages(messages)
    except ImageInputError as err:
        return ("error", err.reason, err.message_index, err.part_index, str(err))
    return ("ok", [m.content for m in out.messages], out.stats)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_item, max_size=6))
def test_chat_model_path_sees_content_as_written(items: list[Any]) -> None:
    # shield_from_core, then langchain-core's tracing and normalisation: none of them may raise,
    # and prepare_messages must decide exactly as it does on the content as written.
    messages: list[BaseMessage] = [HumanMessage(content=items)]
    assert _outcome(through(messages, "chat-model")) == _outcome(messages)
