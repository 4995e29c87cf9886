"""Pre-request capability checks: images to text-only models, forced tool choice."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage

from langchain_flexai.catalog import capabilities
from langchain_flexai.catalog._client import ModelInfo
from langchain_flexai.catalog.capabilities import (
    ForcedToolChoiceWarning,
    ToolChoiceNotSupportedError,
    check_capabilities,
    check_request,
    declines_forced_tool_choice,
    record_forced_tool_choice_declined,
)
from langchain_flexai.describe._retry import is_fatal
from langchain_flexai.errors import ImageErrorReason, ImageInputError

TEXT_MODEL = ModelInfo(
    id="DeepSeek-V4-Flash-0731",
    name="DeepSeek V4 Flash",
    capabilities=frozenset({"chat", "tool_use"}),
    supported_parameters=frozenset({"tools", "tool_choice"}),
)
VISION_MODEL = ModelInfo(
    id="phi-4-multimodal-instruct",
    name="Phi-4",
    capabilities=frozenset({"chat", "vision"}),
)
NO_TOOL_CHOICE = ModelInfo(
    id="Muse-Glimmer-30B",
    name="Muse",
    capabilities=frozenset({"vision", "tool_use"}),
    supported_parameters=frozenset({"tools", "max_tokens"}),
)
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


@pytest.fixture(autouse=True)
def _forget_declines() -> Iterator[None]:
    yield
    capabilities._DECLINED.clear()


def payload(model: str, *, images: bool = True, tool_choice: object = None) -> dict[str, object]:
    content: list[object] = [{"type": "text", "text": "what is this?"}]
    if images:
        content.append(IMAGE)
    body: dict[str, object] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": content},
        ],
    }
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    return body


class TestImages:
    def test_image_to_a_text_only_model_names_alternatives(self) -> None:
        with pytest.raises(ImageInputError) as info:
            check_capabilities(
                payload(TEXT_MODEL.id),
                model_info=TEXT_MODEL,
                on_forced_tool_decline="raise",
                alternatives=["phi-4-multimodal-instruct", "Qwen3.5-9B"],
            )
        error = info.value
        assert error.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
        assert (error.message_index, error.part_index) == (1, 1)
        assert str(error) == (
            "message 1, part 1: model 'DeepSeek-V4-Flash-0731' does not read images (its catalog "
            "entry has no 'vision' capability). Send images to a vision-capable model, for "
            "example: phi-4-multimodal-instruct, Qwen3.5-9B"
        )

    def test_default_alternatives_come_from_the_static_list(self) -> None:
        with pytest.raises(ImageInputError, match=r"for example: phi-4-multimodal-instruct, "):
            check_capabilities(payload("x"), model_info=TEXT_MODEL, on_forced_tool_decline="raise")
        with pytest.raises(ImageInputError, match=r"\(and 7 more\)$"):
            check_capabilities(payload("x"), model_info=TEXT_MODEL, on_forced_tool_decline="raise")

    def test_vision_model_and_text_requests_pass(self) -> None:
        check_capabilities(
            payload(VISION_MODEL.id), model_info=VISION_MODEL, on_forced_tool_decline="raise"
        )
        check_capabilities(
            payload(TEXT_MODEL.id, images=False),
            model_info=TEXT_MODEL,
            on_forced_tool_decline="raise",
        )

    def test_without_a_catalog_record_the_static_table_decides(self) -> None:
        with pytest.raises(
            ImageInputError, match="table of well-known models lists it as text-only"
        ):
            check_capabilities(
                payload("gpt-oss-120b"), model_info=None, on_forced_tool_decline="raise"
            )
        # Unknown to both: allowed, the server stays the judge.
        check_capabilities(
            payload("brand-new-model"), model_info=None, on_forced_tool_decline="raise"
        )

    def test_langchain_messages_are_checked_too(self) -> None:
        message = HumanMessage(content=[{"type": "image", "url": "https://example.com/a.png"}])
        with pytest.raises(ImageInputError) as info:
            check_request([HumanMessage("hi"), message], TEXT_MODEL)
        assert (info.value.message_index, info.value.part_index) == (1, 0)


class TestForcedToolChoice:
    def test_known_decline_raises(self) -> None:
        with pytest.raises(ToolChoiceNotSupportedError) as info:
            check_capabilities(
                payload(NO_TOOL_CHOICE.id, images=False, tool_choice="required"),
                model_info=NO_TOOL_CHOICE,
                on_forced_tool_decline="raise",
            )
        assert str(info.value) == (
            "model 'Muse-Glimmer-30B' is known to decline forced tool calls "
            "(tool_choice='required'); FlexAI would answer 400 tool_choice_not_honored. "
            "Use tool_choice='auto' or a model that honours forced tool calls"
        )
        assert isinstance(info.value, ValueError)

    def test_known_decline_warns_when_configured(self) -> None:
        named = {"type": "function", "function": {"name": "lookup"}}
        with pytest.warns(ForcedToolChoiceWarning, match="known to decline forced tool calls"):
            check_capabilities(
                payload(NO_TOOL_CHOICE.id, images=False, tool_choice=named),
                model_info=NO_TOOL_CHOICE,
                on_forced_tool_decline="warn",
            )

    @pytest.mark.parametrize("tool_choice", ["auto", "none", None])
    def test_unforced_choices_pass(self, tool_choice: object) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_capabilities(
                payload(NO_TOOL_CHOICE.id, images=False, tool_choice=tool_choice),
                model_info=NO_TOOL_CHOICE,
                on_forced_tool_decline="warn",
            )

    def test_models_that_list_tool_choice_pass(self) -> None:
        check_capabilities(
            payload(TEXT_MODEL.id, images=False, tool_choice="required"),
            model_info=TEXT_MODEL,
            on_forced_tool_decline="raise",
        )

    def test_a_decline_seen_in_this_process_is_remembered(self) -> None:
        assert not declines_forced_tool_choice(TEXT_MODEL.id, TEXT_MODEL)
        record_forced_tool_choice_declined("deepseek-v4-flash-0731")
        assert declines_forced_tool_choice(TEXT_MODEL.id, TEXT_MODEL)
        assert declines_forced_tool_choice("DeepSeek-V4-Flash-0731", None)
        with pytest.raises(ToolChoiceNotSupportedError):
            check_capabilities(
                payload(TEXT_MODEL.id, images=False, tool_choice="required"),
                model_info=TEXT_MODEL,
                on_forced_tool_decline="raise",
            )


# -- the text-only refusal: one decision, its words, its error -------------------------------


@pytest.mark.parametrize(
    ("model", "vision", "refused"),
    [
        ("acme-vision-1", True, False),  # a catalog record that reads images
        ("acme-text-1", False, True),  # a catalog record without the vision tag
        ("gpt-oss-120b", None, True),  # no record: the static table says text-only
        ("phi-4-multimodal-instruct", None, False),  # no record: the static table says vision
        ("my-private-finetune", None, False),  # unknown: sent, the server judges
    ],
)
def test_one_decision_behind_every_refusal(model: str, vision: bool | None, refused: bool) -> None:
    info = (
        None
        if vision is None
        else ModelInfo(id=model, name=model, capabilities=frozenset({"vision"} if vision else ()))
    )
    assert capabilities.refuses_images(model, info) is refused
    refusal = capabilities.image_refusal(model, info, alternatives=["v-1", "v-2"])
    assert (refusal is not None) is refused
    request = [HumanMessage([{"type": "text", "text": "hi"}, IMAGE])]
    if not refused:
        capabilities.check_request(request, info, model=model)
        return
    assert refusal is not None
    assert refusal.startswith(f"model {model!r} does not read images (")
    assert refusal.endswith("for example: v-1, v-2")
    with pytest.raises(ImageInputError) as caught:
        capabilities.check_request(request, info, model=model, alternatives=["v-1", "v-2"])
    expected = capabilities.image_not_allowed(refusal, message_index=0, part_index=1)
    assert str(caught.value) == str(expected)
    assert caught.value.reason is expected.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
    assert capabilities.command_line_refusal(model, ["v-1", "v-2"]) == (
        f"{model} does not read images; vision models: v-1, v-2"
    )
    assert capabilities.command_line_refusal(model, []) == f"{model} does not read images"


def test_server_refusal_is_recognised_where_a_describe_run_stops() -> None:
    text = f"Error code: 400 - model 'acme-text-1' {capabilities.TEXT_ONLY_ANSWER}"
    assert capabilities.server_refused_images(text)
    assert not capabilities.server_refused_images("Error code: 400 - bad request")
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(400, request=request)
    refused = openai.BadRequestError(text, response=response, body=None)
    other = openai.BadRequestError("bad request", response=response, body=None)
    assert is_fatal(refused, retries_exhausted=False)
    assert not is_fatal(other, retries_exhausted=False)
