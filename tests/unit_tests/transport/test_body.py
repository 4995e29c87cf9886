"""The request body ChatFlexAI sends is the JSON value the openai SDK would send, encoded once.

Each request is sent twice over a mock transport: by ChatFlexAI as it is (body built without the
SDK's re-walk, content lists kept out of langchain-openai's block inspection, bytes encoded by
``_transport._body``), and by the same model on the stock SDK clients and langchain-openai's own
payload step. The two bodies must be equal JSON values: text, images, tools, tool images,
structured output (the SDK's ``parse`` and ``stream`` helpers), streaming with
``stream_options``, ``extra_body``, async. Then the SDK's encoder and re-walk are made to fail, to
prove neither runs; retries resend the same bytes; the encoder's fallbacks match the SDK's.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport import _body
from langchain_flexai._transport._body import encode_json
from tests.unit_tests.image_factory import encode, noisy
from tests.unit_tests.wire import chunk, completion, sse


class GetWeather(BaseModel):
    """Get the current weather in a given location."""

    location: str = Field(..., description="The city, e.g. Paris")


class Caption(BaseModel):
    """A caption for an image."""

    caption: str


class Recorder:
    """Answers every request (SSE when it asks for a stream) and keeps the raw body bytes."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.failures: list[int] = []  # statuses to answer first, one per request

    def handle(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        self.bodies.append(raw)
        if self.failures:
            return httpx.Response(self.failures.pop(0), json={"error": {"message": "busy"}})
        if json.loads(raw).get("stream"):
            events = sse(
                chunk({"role": "assistant", "content": '{"caption": "a"}'}),
                chunk({}, finish_reason="stop"),
                chunk(usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}),
            )
            return httpx.Response(
                200, content=events, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=completion('{"caption": "a"}'))

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)

    def model(self, **kwargs: Any) -> ChatFlexAI:
        kwargs.setdefault("max_retries", 0)
        return ChatFlexAI(
            api_key="test-key",
            base_url="https://flexai.test/v1",
            http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self.ahandle)),
            **kwargs,
        )


def _stock(model: ChatFlexAI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put ``model`` back on the SDK's own clients and langchain-openai's own payload step."""
    params: dict[str, Any] = {
        "api_key": "test-key",
        "base_url": model.openai_api_base,
        "max_retries": model.max_retries,
    }
    model.root_client = openai.OpenAI(**params, http_client=model.http_client)
    model.client = model.root_client.chat.completions
    model.root_async_client = openai.AsyncOpenAI(**params, http_client=model.http_async_client)
    model.async_client = model.root_async_client.chat.completions
    monkeypatch.setattr(
        "langchain_flexai.chat_models.payload_with_wire_parts", lambda wire, build: build(wire)
    )


def _png_url(seed: int) -> str:
    data = encode(noisy((48, 32), seed=seed), "PNG")
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _image_messages() -> list[BaseMessage]:
    return [
        HumanMessage(
            content=[
                {"type": "text", "text": 'Compare these. «Ünïcode» and "quotes"\n'},
                {"type": "image_url", "image_url": {"url": _png_url(1), "detail": "low"}},
                {"type": "image", "base64": _png_url(2).split(",")[1], "mime_type": "image/png"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ]
        )
    ]


def _tool_messages() -> list[BaseMessage]:
    call = {"name": "GetWeather", "args": {"location": "Paris"}, "id": "call_1"}
    return [
        ("system", "Use the tools."),  # type: ignore[list-item]
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=[call]),
        ToolMessage(
            content=[
                {"type": "text", "text": "Sunny; a photo:"},
                {"type": "image_url", "image_url": {"url": _png_url(3)}},
            ],
            tool_call_id="call_1",
        ),
    ]


Scenario = Callable[[ChatFlexAI], object]

SCENARIOS: dict[str, Scenario] = {
    "text": lambda m: m.invoke([("system", "Be brief."), ("human", "Hi")]),
    "text, stop and settings": lambda m: m.bind(stop=["\n\n"], seed=7, top_p=0.5).invoke("Hi"),
    "images": lambda m: m.invoke(_image_messages()),
    "images, async": lambda m: asyncio.run(m.ainvoke(_image_messages())),
    "tools and a tool image": lambda m: m.bind_tools([GetWeather], tool_choice="auto").invoke(
        _tool_messages()
    ),
    "structured output (parse)": lambda m: m.with_structured_output(
        Caption, method="json_schema"
    ).invoke("Caption: a red square"),
    "structured output, function calling": lambda m: m.with_structured_output(
        Caption, method="function_calling"
    ).invoke("Caption: a red square"),
    "stream (stream_options)": lambda m: list(m.stream(_image_messages())),
    "stream, async": lambda m: asyncio.run(_acollect(m, _image_messages())),
    "structured stream (stream helper)": lambda m: list(
        m.with_structured_output(Caption, method="json_schema").stream("Caption: a red square")
    ),
}


async def _acollect(model: ChatFlexAI, messages: list[BaseMessage]) -> list[Any]:
    return [c async for c in model.astream(messages)]


def _send(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> list[bytes]:
    ours, stock = Recorder(), Recorder()
    # Copies: the model's validators move entries out of a `model_kwargs` dict they are given.
    scenario(ours.model(**copy.deepcopy(settings)))
    reference = stock.model(**copy.deepcopy(settings))
    with monkeypatch.context() as patch:
        _stock(reference, patch)
        scenario(reference)
    assert len(ours.bodies) == len(stock.bodies) == 1
    assert json.loads(ours.bodies[0]) == json.loads(stock.bodies[0])
    return ours.bodies


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_body_is_the_json_value_the_sdk_sends(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _send(SCENARIOS[name], monkeypatch)


def test_extra_body_and_model_kwargs_merge_as_the_sdk_merges_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (body,) = _send(
        SCENARIOS["images"],
        monkeypatch,
        extra_body={"top_k": 5, "max_tokens": 9},
        model_kwargs={"logprobs": True},
        max_tokens=64,
    )
    sent = json.loads(body)
    assert (sent["top_k"], sent["max_tokens"], sent["logprobs"]) == (5, 9, True)


def test_the_stream_body_asks_for_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    (body,) = _send(SCENARIOS["stream (stream_options)"], monkeypatch)
    sent = json.loads(body)
    assert (sent["stream"], sent["stream_options"]) == (True, {"include_usage": True})


def test_the_images_travel_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    messages = _image_messages()
    recorder.model().invoke(messages)
    parts = json.loads(recorder.bodies[0])["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": _png_url(1), "detail": "low"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": _png_url(2)}}
    assert parts[3] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


def test_neither_the_sdks_encoder_nor_its_rewalk_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the SDK walked the body")

    monkeypatch.setattr("openai._base_client.openapi_dumps", refuse)
    monkeypatch.setattr("openai.resources.chat.completions.completions.maybe_transform", refuse)
    monkeypatch.setattr(
        "openai.resources.chat.completions.completions.async_maybe_transform", refuse
    )
    monkeypatch.setattr(
        "langchain_openai.chat_models.base.is_data_content_block",
        refuse,  # langchain-openai's per-block inspection of our prepared parts
    )
    recorder = Recorder()
    model = recorder.model()
    model.invoke(_image_messages())
    asyncio.run(model.ainvoke(_image_messages()))
    list(model.stream(_tool_messages()))
    assert len(recorder.bodies) == 3


def test_a_retry_resends_the_same_bytes_and_raw_responses_still_work() -> None:
    recorder = Recorder()
    recorder.failures = [500]
    model = recorder.model(max_retries=1, include_response_headers=True)
    answer = model.invoke(_image_messages())
    assert len(recorder.bodies) == 2
    assert recorder.bodies[0] == recorder.bodies[1]
    assert answer.response_metadata["headers"]["content-type"] == "application/json"


def test_request_logging_at_debug_still_works(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    with caplog.at_level(logging.DEBUG, logger="openai"):
        recorder.model().invoke("Hi")
    lines = [record.getMessage() for record in caplog.records]
    assert "Sending HTTP Request: POST" in lines
    assert "HTTP Response: POST 200" in lines
    assert not any("test-key" in line for line in lines)


def test_an_sdk_status_error_is_still_mapped() -> None:
    recorder = Recorder()
    recorder.failures = [401]
    with pytest.raises(openai.AuthenticationError, match="Check the FLEXAI_API_KEY"):
        recorder.model().invoke("Hi")


# -- the encoder against the SDK's own -----------------------------------------------------------


def _sdk_bytes(body: dict[str, Any]) -> bytes:
    from openai._utils._json import openapi_dumps  # noqa: PLC0415 - the reference

    return openapi_dumps(body)


BODIES: dict[str, dict[str, Any]] = {
    "plain": {"model": "m", "messages": [{"role": "user", "content": 'héllo \u2028 "q"'}]},
    "integer keys (orjson refuses, the stdlib pass converts)": {"logit_bias": {1: -100}},
    "a big integer": {"seed": 2**70},
    "a tuple and a pydantic model": {"stop": ("a", "b"), "r": Caption(caption="x")},
    "floats": {"temperature": 0.1, "top_p": 1e-7, "x": 12345678.875},
}


@pytest.mark.parametrize("name", list(BODIES))
@pytest.mark.parametrize("with_orjson", [True, False])
def test_encode_json_gives_the_sdks_json_value(
    name: str, with_orjson: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not with_orjson:
        monkeypatch.setattr(_body, "orjson", None)
    body = BODIES[name]
    ours = encode_json(body)
    assert json.loads(ours) == json.loads(_sdk_bytes(body))
    if not with_orjson:
        assert ours == _sdk_bytes(body)  # the same single stdlib pass, byte for byte


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_non_finite_setting_is_refused_as_the_sdk_refuses_it(value: float) -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        _sdk_bytes({"temperature": value})
    with pytest.raises(ValueError, match="Out of range float values"):
        encode_json({"temperature": value})


def test_an_unserialisable_value_raises_the_sdks_type_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        encode_json({"x": object()})


def test_a_lone_surrogate_fails_as_it_does_in_the_sdk() -> None:
    with pytest.raises(UnicodeEncodeError):
        _sdk_bytes({"x": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        encode_json({"x": "\ud800"})
