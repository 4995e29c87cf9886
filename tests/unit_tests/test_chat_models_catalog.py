"""ChatFlexAI's catalog wiring: profile, pre-request capability checks, offline token counts."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from PIL import Image
from pydantic import BaseModel

from langchain_flexai import ImageErrorReason, ImageInputError, ImagePolicy, ModelInfo
from langchain_flexai.catalog._client import CatalogWarning, FlexAICatalog, FlexAICatalogError
from langchain_flexai.catalog.capabilities import ToolChoiceNotSupportedError
from langchain_flexai.tokens import estimate_image_tokens
from tests.unit_tests.wire import WireRecorder, chunk, error_body, sse

CATALOG = FlexAICatalog.from_models(
    [
        ModelInfo(
            id="phi-4-multimodal-instruct",
            name="Phi-4 multimodal",
            capabilities=frozenset({"chat", "vision", "tool_use"}),
            context_window=131072,
            max_output=4096,
        ),
        ModelInfo(
            id="gemma-4-31b-it",
            name="Gemma 4 31B",
            capabilities=frozenset({"chat", "vision"}),
            supported_parameters=("temperature", "tools"),
        ),
        ModelInfo(
            id="gpt-oss-120b",
            name="gpt-oss 120B",
            capabilities=frozenset({"chat", "reasoning", "tool_use"}),
            context_window=131072,
        ),
    ]
)


class Lookup(BaseModel):
    """Look something up."""

    query: str


def _png_message(size: int = 64) -> HumanMessage:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "red").save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    return HumanMessage(
        content=[
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        ]
    )


def test_static_profile_for_the_default_model(wire: WireRecorder) -> None:
    profile = wire.model().profile
    assert profile is not None
    assert profile["image_inputs"] is True
    assert profile["image_url_inputs"] is True


def test_refresh_profile_reads_the_catalog(wire: WireRecorder) -> None:
    model = wire.model(model="gpt-oss-120b", model_catalog=CATALOG)
    profile = model.refresh_profile()
    assert model.profile == profile
    assert profile["image_inputs"] is False
    assert profile["max_input_tokens"] == 131072
    assert profile["reasoning_output"] is True
    assert wire.requests == []


def test_token_count_uses_the_model_family_rule(wire: WireRecorder) -> None:
    model = wire.model(model="phi-4-multimodal-instruct")
    text_only = HumanMessage(content=[{"type": "text", "text": "What is this?"}])
    with_image = model.get_num_tokens_from_messages([_png_message(64)])
    without = model.get_num_tokens_from_messages([text_only])
    assert with_image - without == estimate_image_tokens("phi-4-multimodal-instruct", 64, 64)
    assert wire.requests == []  # counting never sends


def test_token_count_sees_the_policy_downscale(wire: WireRecorder) -> None:
    small = wire.model(model="Qwen3.6-27B-FP8", image_policy=ImagePolicy(max_side=256))
    big = wire.model(model="Qwen3.6-27B-FP8")
    message = [_png_message(1024)]
    assert small.get_num_tokens_from_messages(message) < big.get_num_tokens_from_messages(message)


def test_get_num_tokens_needs_no_tokenizer_download(wire: WireRecorder) -> None:
    assert wire.model().get_num_tokens("a" * 40) == 10


def test_image_to_text_only_model_fails_before_sending(wire: WireRecorder) -> None:
    model = wire.model(model="gpt-oss-120b", check_capabilities=True, model_catalog=CATALOG)
    with pytest.raises(ImageInputError) as info:
        model.invoke([_png_message()])
    assert info.value.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
    assert "phi-4-multimodal-instruct" in str(info.value)
    assert "gemma-4-31b-it" in str(info.value)
    assert wire.requests == []


async def test_image_to_text_only_model_fails_before_sending_async(wire: WireRecorder) -> None:
    model = wire.model(model="gpt-oss-120b", check_capabilities=True, model_catalog=CATALOG)
    with pytest.raises(ImageInputError, match="phi-4-multimodal-instruct"):
        await model.ainvoke([_png_message()])
    assert wire.requests == []


def test_checks_can_be_turned_off(wire: WireRecorder) -> None:
    model = wire.model(model="gpt-oss-120b", check_capabilities=False, model_catalog=CATALOG)
    model.invoke([_png_message()])
    assert len(wire.requests) == 1


def test_vision_model_passes_the_check(wire: WireRecorder) -> None:
    model = wire.model(check_capabilities=True, model_catalog=CATALOG)
    model.invoke([_png_message()])
    assert len(wire.requests) == 1


def test_forced_tool_choice_on_a_decliner_raises_when_configured(wire: WireRecorder) -> None:
    model = wire.model(
        model="gemma-4-31b-it",
        check_capabilities=True,
        on_forced_tool_decline="raise",
        model_catalog=CATALOG,
    )
    with pytest.raises(ToolChoiceNotSupportedError, match="gemma-4-31b-it"):
        model.bind_tools([Lookup], tool_choice="Lookup").invoke("find cats")
    assert wire.requests == []


def test_a_declined_forced_call_is_remembered(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "langchain_flexai.catalog.capabilities._DECLINED", set()
    )  # this test's memory
    model = wire.model(
        model="phi-4-multimodal-instruct",
        check_capabilities=True,
        on_forced_tool_decline="raise",
        model_catalog=CATALOG,
    )
    wire.respond(
        400,
        content=error_body(400, "declined", type_=None, code="tool_choice_not_honored"),
        headers={"content-type": "application/json"},
    )
    forced = model.bind_tools([Lookup], tool_choice="any")
    with pytest.raises(Exception, match="tool_choice_not_honored"):
        forced.invoke("find cats")
    assert len(wire.requests) == 1
    with pytest.raises(ToolChoiceNotSupportedError):
        forced.invoke("find cats")
    assert len(wire.requests) == 1  # caught before sending this time


def test_capability_error_points_at_the_input_position(wire: WireRecorder) -> None:
    # The tool's image is moved to a new user message on the wire; the error must still name
    # where the user put it: message 2 (the ToolMessage), part 1.
    image = _png_message().content[1]
    history = [
        HumanMessage("Take a screenshot."),
        AIMessage("", tool_calls=[{"name": "shot", "args": {}, "id": "call_1"}]),
        ToolMessage(content=[{"type": "text", "text": "done"}, image], tool_call_id="call_1"),
        HumanMessage("And?"),
    ]
    model = wire.model(model="gpt-oss-120b", check_capabilities=True, model_catalog=CATALOG)
    with pytest.raises(ImageInputError) as info:
        model.invoke(history)
    assert (info.value.message_index, info.value.part_index) == (2, 1)
    assert str(info.value).startswith("message 2, part 1: model 'gpt-oss-120b' does not read")
    assert wire.requests == []


class _CountingCatalog(FlexAICatalog):
    """Serves CATALOG's records, counting fetches and noting whether one ran on an event loop."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__(base_url="https://catalog.example.com/v1", api_key=None)
        self.fail = fail
        self.fetches: list[str] = []

    def _result(self) -> Any:
        if self.fail:
            raise FlexAICatalogError("https://catalog.example.com/api/models: unreachable")
        return CATALOG._snapshot

    def _fetch(self) -> Any:
        try:
            asyncio.get_running_loop()
            self.fetches.append("sync, on the event loop")
        except RuntimeError:
            self.fetches.append("sync")
        return self._result()

    async def _afetch(self) -> Any:
        self.fetches.append("async")
        return self._result()


async def test_async_paths_never_fetch_the_catalog_on_the_event_loop(wire: WireRecorder) -> None:
    catalog = _CountingCatalog()
    model = wire.model(check_capabilities=True, model_catalog=catalog)
    await model.ainvoke([_png_message()])
    catalog.clear_cache()
    wire.respond(
        content=sse(chunk({"content": "ok"}), chunk({}, finish_reason="stop")), stream=True
    )
    _ = [c async for c in model.astream("hi")]
    assert catalog.fetches == ["async", "async"]


def test_an_unreachable_catalog_is_not_asked_again_for_every_request(wire: WireRecorder) -> None:
    catalog = _CountingCatalog(fail=True)
    model = wire.model(check_capabilities=True, model_catalog=catalog)
    with pytest.warns(CatalogWarning, match="capabilities unknown"):
        model.invoke([_png_message()])
    model.invoke([_png_message()])
    model.invoke("hi")
    assert catalog.fetches == ["sync"]  # then unknown (allowed) for FAILURE_BACKOFF_S
    assert len(wire.requests) == 3
