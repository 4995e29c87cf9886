"""What ChatFlexAI refuses or explains before (or instead of) paying for a request.

Images to a model known to be text-only are refused by default, on every entry point, with no
request at all (not even to the catalog); unknown models are sent. An unknown model id gets
"did you mean" from the data at hand. The missing-key error is one line. Token ids are offline.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from PIL import Image

from langchain_flexai import ChatFlexAI, FlexAIConfigError, ImageErrorReason, ImageInputError
from langchain_flexai.catalog._client import FlexAICatalog, ModelInfo
from langchain_flexai.catalog.profiles import VISION_MODELS
from tests.unit_tests.wire import WireRecorder, chunk, error_body, sse

FIRST_VISION = ", ".join(VISION_MODELS[:5])
GPT_OSS_REFUSAL = (
    "message 0, part 1: model 'gpt-oss-120b' does not read images (langchain-flexai's table of "
    "well-known models lists it as text-only). Send images to a vision-capable model, for "
    f"example: {FIRST_VISION} (and {len(VISION_MODELS) - 5} more)"
)


def _image_message(colour: str = "red", size: int = 24) -> HumanMessage:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return HumanMessage(
        content=[
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )


def _stream_reply(wire: WireRecorder) -> None:
    wire.respond(
        content=sse(
            chunk({"role": "assistant", "content": "ok"}),
            chunk({}, finish_reason="stop"),
            chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}),
        ),
        stream=True,
    )


async def _call(model: ChatFlexAI, how: str, messages: list[BaseMessage]) -> None:
    if how == "invoke":
        model.invoke(messages)
    elif how == "stream":
        _ = list(model.stream(messages))
    elif how == "ainvoke":
        await model.ainvoke(messages)
    elif how == "astream":
        _ = [c async for c in model.astream(messages)]
    elif how == "batch":
        model.batch([[HumanMessage("hi")], messages])
    else:
        await model.abatch([messages])


ENTRY_POINTS = ["invoke", "stream", "ainvoke", "astream", "batch", "abatch"]


def _has_image(body: dict[str, Any]) -> bool:
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


class _NeverFetched(FlexAICatalog):
    """A live-looking catalog that fails the test if anything asks it to fetch."""

    def __init__(self) -> None:
        super().__init__(base_url="https://tokens.flex.ai/v1", api_key=None)

    def _fetch(self) -> Any:
        pytest.fail("the catalog was fetched")

    async def _afetch(self) -> Any:
        pytest.fail("the catalog was fetched")


# -- images to a text-only model: refused by default ------------------------------------------


@pytest.mark.parametrize("how", ENTRY_POINTS)
async def test_image_to_a_known_text_only_model_never_reaches_the_wire(
    wire: WireRecorder, how: str
) -> None:
    model = wire.model(model="gpt-oss-120b", model_catalog=_NeverFetched())
    with pytest.raises(ImageInputError) as info:
        await _call(model, how, [_image_message()])
    assert str(info.value) == GPT_OSS_REFUSAL
    assert info.value.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
    # batch sends its text-only first input; the image input never goes out.
    assert [r.body["messages"] for r in wire.requests if r.body] == (
        [[{"role": "user", "content": "hi"}]] if how == "batch" else []
    )


@pytest.mark.parametrize("how", ENTRY_POINTS)
async def test_opt_out_sends_the_image(wire: WireRecorder, how: str) -> None:
    model = wire.model(model="gpt-oss-120b", check_capabilities=False)
    if how in {"stream", "astream"}:
        _stream_reply(wire)
    await _call(model, how, [_image_message()])
    # batch also sends a text-only input; its threads may finish in either order.
    with_image = [r.body for r in wire.requests if r.body and _has_image(r.body)]
    assert len(with_image) == 1
    assert with_image[0]["model"] == "gpt-oss-120b"
    assert with_image[0]["messages"][0]["content"][1]["type"] == "image_url"


@pytest.mark.parametrize("how", ENTRY_POINTS)
async def test_unknown_model_is_sent_without_asking_the_catalog(
    wire: WireRecorder, how: str
) -> None:
    model = wire.model(model="my-private-finetune", model_catalog=_NeverFetched())
    if how in {"stream", "astream"}:
        _stream_reply(wire)
    await _call(model, how, [_image_message()])
    assert wire.requests[-1].body is not None
    assert wire.requests[-1].body["model"] == "my-private-finetune"
    assert all(r.url.endswith("/chat/completions") for r in wire.requests)


@pytest.mark.parametrize("how", ENTRY_POINTS)
async def test_text_only_request_to_a_text_only_model_is_sent(wire: WireRecorder, how: str) -> None:
    model = wire.model(model="gpt-oss-120b", model_catalog=_NeverFetched())
    if how in {"stream", "astream"}:
        _stream_reply(wire)
    await _call(model, how, [HumanMessage("Is 7 prime?")])
    sent = [r.body["messages"] for r in wire.requests if r.body]  # batch: in either order
    assert [{"role": "user", "content": "Is 7 prime?"}] in sent


def test_a_per_call_model_override_is_checked(wire: WireRecorder) -> None:
    model = wire.model(model_catalog=_NeverFetched())  # the default model reads images
    with pytest.raises(ImageInputError, match="model 'gpt-oss-120b' does not read images"):
        model.invoke([_image_message()], model="gpt-oss-120b")
    assert wire.requests == []


def _catalog_server(
    models: list[dict[str, Any]], seen: list[str]
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=models)

    return handle


def test_an_already_fetched_catalog_decides_for_models_the_table_does_not_know(
    wire: WireRecorder,
) -> None:
    seen: list[str] = []
    public = [
        {"model_name": "acme-text-7b", "supports": ["chat"]},
        {"model_name": "acme-vision-7b", "supports": ["chat", "vision"]},
    ]
    catalog = FlexAICatalog(
        base_url="https://tokens.flex.ai/v1",
        api_key=None,
        http_client=httpx.Client(transport=httpx.MockTransport(_catalog_server(public, seen))),
    )
    model = wire.model(model="acme-text-7b", model_catalog=catalog)
    model.invoke([_image_message()])  # catalog not fetched yet: unknown, sent
    assert (len(wire.requests), seen) == (1, [])

    catalog.list_models()  # the application reads the catalog for its own reasons
    with pytest.raises(ImageInputError) as info:
        model.invoke([_image_message()])
    assert str(info.value) == (
        "message 0, part 1: model 'acme-text-7b' does not read images (its catalog entry has "
        "no 'vision' capability). Send images to a vision-capable model, for example: "
        "acme-vision-7b"
    )
    assert (len(wire.requests), seen) == (1, ["/api/models", "/v1/models"])  # nothing more


def test_a_catalog_record_overrides_the_static_table(wire: WireRecorder) -> None:
    # A model the table lists as text-only that the (fresher) catalog says now reads images.
    catalog = FlexAICatalog.from_models(
        [ModelInfo(id="gpt-oss-120b", name="gpt-oss", capabilities=frozenset({"vision"}))]
    )
    wire.model(model="gpt-oss-120b", model_catalog=catalog).invoke([_image_message()])
    assert len(wire.requests) == 1


def test_check_capabilities_true_still_fetches_the_catalog(wire: WireRecorder) -> None:
    seen: list[str] = []
    public = [{"model_name": "acme-text-7b", "supports": ["chat"]}]
    catalog = FlexAICatalog(
        base_url="https://tokens.flex.ai/v1",
        api_key=None,
        http_client=httpx.Client(transport=httpx.MockTransport(_catalog_server(public, seen))),
    )
    model = wire.model(model="acme-text-7b", check_capabilities=True, model_catalog=catalog)
    with pytest.raises(ImageInputError, match="'acme-text-7b' does not read images"):
        model.invoke([_image_message()])
    assert (wire.requests, seen) == ([], ["/api/models", "/v1/models"])


# -- an unknown model id: "did you mean" from the data at hand ---------------------------------


def _not_found(wire: WireRecorder, model: str) -> None:
    wire.respond(
        400,
        content=error_body(
            400,
            f"The model '{model}' does not exist. GET /v1/models lists the available models.",
            type_="invalid_request_error",
            code="model_not_found",
        ),
        headers={"content-type": "application/json"},
    )


NOT_FOUND_TEXT = (
    "FlexAI error 400 model_not_found: The model '{model}' does not exist. GET /v1/models lists "
    "the available models. Pass a model id listed by `flexai-vision models` (the bare id, not the "
    "Hugging Face id)."
)


@pytest.mark.parametrize(
    ("model", "suggestion"),
    [
        ("gemma-4-31b", " Did you mean: gemma-4-31b-it, gemma-4-26B-A4B-it?"),
        ("google/gemma-4-31b-it", " Did you mean: gemma-4-31b-it?"),
        ("Phi-4-Multimodal-Instruct", " Did you mean: phi-4-multimodal-instruct?"),
        ("qwen3.6-27b", " Did you mean: Qwen3.6-27B-FP8, Qwen3.8-27B, Qwen3.5-9B?"),
        ("gpt-oss-12b", " Did you mean: gpt-oss-120b?"),
        ("completely-different", ""),
    ],
)
def test_model_not_found_suggests_known_ids(
    wire: WireRecorder, model: str, suggestion: str
) -> None:
    _not_found(wire, model)
    chat = wire.model(model=model, model_catalog=_NeverFetched())
    with pytest.raises(openai.BadRequestError) as info:
        chat.invoke("hi")
    assert str(info.value) == NOT_FOUND_TEXT.format(model=model) + suggestion
    assert len(wire.requests) == 1  # no catalog request was made for the suggestion


def test_model_not_found_uses_a_fetched_catalog_and_hugging_face_ids(wire: WireRecorder) -> None:
    catalog = FlexAICatalog.from_models(
        [ModelInfo(id="acme-vl-8b", name="Acme VL", hugging_face_id="acme/Acme-VL-8B-Instruct")]
    )
    for model, suggestion in [
        ("acme/Acme-VL-8B-Instruct", " Did you mean: acme-vl-8b?"),
        ("acme-vl-8", " Did you mean: acme-vl-8b?"),
    ]:
        _not_found(wire, model)
        with pytest.raises(openai.BadRequestError) as info:
            wire.model(model=model, model_catalog=catalog).invoke("hi")
        assert str(info.value) == NOT_FOUND_TEXT.format(model=model) + suggestion


async def test_model_not_found_suggestions_on_async_and_stream_paths(wire: WireRecorder) -> None:
    expected = NOT_FOUND_TEXT.format(model="gpt-oss-12b") + " Did you mean: gpt-oss-120b?"
    model = wire.model(model="gpt-oss-12b", model_catalog=_NeverFetched())
    for run in (
        lambda: model.ainvoke("hi"),
        lambda: _collect(model.astream("hi")),
    ):
        _not_found(wire, "gpt-oss-12b")
        with pytest.raises(openai.BadRequestError) as info:
            await run()
        assert str(info.value) == expected
    _not_found(wire, "gpt-oss-12b")
    with pytest.raises(openai.BadRequestError) as sync_info:
        list(model.stream("hi"))
    assert str(sync_info.value) == expected


async def _collect(stream: Any) -> list[Any]:
    return [c async for c in stream]


# -- the missing key: one line --------------------------------------------------------------


MISSING_KEY = (
    "No FlexAI API key: set the FLEXAI_API_KEY environment variable or pass api_key=... "
    "(get a key at https://console.flex.ai). To try things offline, use "
    "langchain_flexai.testing.FlexAIEmulator."
)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"model": "gemma-4-31b-it", "temperature": 0.2}, {"api_key": ""}],
)
def test_missing_key_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any]
) -> None:
    monkeypatch.delenv("FLEXAI_API_KEY")
    with pytest.raises(FlexAIConfigError) as info:
        ChatFlexAI(**kwargs)
    assert str(info.value) == MISSING_KEY
    assert isinstance(info.value, ValueError)  # `except ValueError` keeps working
    assert info.value.__suppress_context__  # no pydantic ValidationError chained under it


def test_other_validation_errors_do_not_echo_the_key() -> None:
    with pytest.raises(ValueError, match="n must be at least 1") as info:
        ChatFlexAI(api_key="sk-flexai-do-not-print", n=0)
    assert "sk-flexai-do-not-print" not in str(info.value)
    assert "input_value" not in str(info.value)


# -- token ids, offline ---------------------------------------------------------------------


def _texts() -> list[str]:
    # Every UTF-8 length class (1-4 bytes per character), at every remainder modulo 4.
    pieces = ["a", "é", "中", "🙂", " ", "\n", "\x00"]
    return [""] + [
        "".join(pieces[(i * 7 + j) % len(pieces)] for j in range(length))
        for i in range(len(pieces))
        for length in (1, 2, 3, 4, 5, 17, 64)
    ]


def test_get_token_ids_is_offline_and_agrees_with_get_num_tokens(wire: WireRecorder) -> None:
    model = wire.model()
    for text in _texts():
        ids = model.get_token_ids(text)
        assert all(isinstance(i, int) and i >= 0 for i in ids)
        assert len(ids) == model.get_num_tokens(text)
        assert ids == model.get_token_ids(text)
    assert model.get_token_ids("abcdabcd") == [0x61626364, 0x61626364]
    assert model.get_token_ids("abcde") == [0x61626364, 0x65]
    assert wire.requests == []


def test_custom_get_token_ids_is_honoured_by_both(wire: WireRecorder) -> None:
    model = wire.model(custom_get_token_ids=lambda text: [len(w) for w in text.split()])
    assert model.get_token_ids("one three") == [3, 5]
    assert model.get_num_tokens("one three") == 2


# -- FlexAI's other host name ---------------------------------------------------------------


def test_api_flex_ai_base_url_is_used_as_given(wire: WireRecorder) -> None:
    model = wire.model(base_url="https://api.flex.ai/v1", model_catalog=_NeverFetched())
    model.invoke("hi")
    assert wire.requests[0].url == "https://api.flex.ai/v1/chat/completions"
    with pytest.raises(ImageInputError, match="does not read images"):
        model.invoke([_image_message()], model="gpt-oss-120b")
    assert json.loads(json.dumps(wire.last))["model"] == "phi-4-multimodal-instruct"
