"""Async chat completions build their result on the event loop, as langchain-openai would build it.

``_transport._results`` repeats langchain-openai's ``_agenerate`` without its worker-thread hop.
These tests pin that both give the same messages and the same errors (langchain-openai's own
``_agenerate`` is put back for the comparison), and that no executor is used.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from langchain_core.utils._gateway import GATEWAY_METADATA_HEADER, GATEWAY_METADATA_RESPONSE_KEY
from pydantic import BaseModel

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport import _completion
from langchain_flexai._transport import _results as results_module
from langchain_flexai._transport._pools import sdk_httpx
from langchain_flexai._transport._results import LoopResults
from tests.unit_tests.wire import WireRecorder, completion, error_body


class Caption(BaseModel):
    """A caption."""

    caption: str


def _without_ids(value: Any) -> Any:
    if isinstance(value, BaseMessage):
        return {k: v for k, v in value.model_dump().items() if k != "id"}
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items()}
    return value


def _both_ways(
    monkeypatch: pytest.MonkeyPatch, run: Callable[[WireRecorder], Any]
) -> tuple[Any, Any, WireRecorder, WireRecorder]:
    """``run`` with our ``_agenerate``/``_generate``, then langchain-openai's, fresh recorders."""
    ours, theirs = WireRecorder(), WireRecorder()
    mine = run(ours)
    _typed_path(monkeypatch)
    return mine, run(theirs), ours, theirs


def _typed_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back to ``BaseChatOpenAI._agenerate`` and ``_generate``."""
    monkeypatch.delattr(LoopResults, "_agenerate")
    monkeypatch.delattr(LoopResults, "_generate")


HEADERS = {"x-ratelimit-remaining-requests": "59", "x-request-id": "req-1"}


@pytest.mark.parametrize("headers", [False, True])
def test_an_async_answer_is_the_one_langchain_openai_builds(
    monkeypatch: pytest.MonkeyPatch, *, headers: bool
) -> None:
    def run(recorder: WireRecorder) -> Any:
        recorder.respond(json_body=completion("A cat."), headers=HEADERS)
        model = recorder.model(api_key="test-key", include_response_headers=headers)
        return asyncio.run(model.ainvoke("Hi"))

    mine, theirs, ours, them = _both_ways(monkeypatch, run)
    assert _without_ids(mine) == _without_ids(theirs)
    assert ("headers" in mine.response_metadata) is headers
    assert ours.last == them.last


@pytest.mark.parametrize("sync", [False, True])
def test_a_structured_answer_is_the_one_langchain_openai_builds(
    monkeypatch: pytest.MonkeyPatch, *, sync: bool
) -> None:
    def run(recorder: WireRecorder) -> Any:
        recorder.respond(json_body=completion('{"caption": "A cat."}'))
        model = recorder.model(api_key="test-key")
        structured = model.with_structured_output(Caption, method="json_schema", include_raw=True)
        if sync:
            return structured.invoke("Caption this.")
        return asyncio.run(structured.ainvoke("Caption this."))

    mine, theirs, ours, them = _both_ways(monkeypatch, run)
    assert mine["parsed"] == theirs["parsed"] == Caption(caption="A cat.")
    assert _without_ids(mine["raw"]) == _without_ids(theirs["raw"])
    assert ours.last == them.last


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (400, "context_length_exceeded", "This model's maximum context length is 8192 tokens."),
        (401, "invalid_api_key", "Invalid API key."),
        (404, "model_not_found", "The model 'nope' does not exist."),
        (429, "rate_limit_exceeded", "Rate limit reached."),
    ],
)
def test_an_async_error_is_the_one_langchain_openai_raises(
    monkeypatch: pytest.MonkeyPatch, status: int, code: str, message: str
) -> None:
    def run(recorder: WireRecorder) -> Any:
        recorder.respond(status, content=error_body(status, message, type_=None, code=code))
        model = recorder.model(api_key="test-key")
        with pytest.raises(openai.APIStatusError) as raised:
            asyncio.run(model.ainvoke("Hi"))
        return raised.value

    mine, theirs, _, _ = _both_ways(monkeypatch, run)
    assert type(mine) is type(theirs)
    assert str(mine) == str(theirs)
    assert mine.status_code == theirs.status_code == status


def test_an_async_answer_is_built_without_an_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    used: list[object] = []
    real = asyncio.BaseEventLoop.run_in_executor

    def counting(self: Any, executor: Any, func: Any, *args: Any) -> Any:
        used.append(func)
        return real(self, executor, func, *args)

    async def twice() -> None:
        await model.ainvoke("Hi")  # the SDK reads the platform in a thread once per client
        used.clear()
        await model.ainvoke("Hi")

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", counting)
    asyncio.run(twice())
    assert used == []
    assert len(recorder.requests) == 2


# -- answers read from their JSON body: generated bodies, the same ChatResult as the typed path ---

_MISSING = object()  # a key the body leaves out


def _put(target: dict[str, Any], key: str, value: object) -> None:
    if value is not _MISSING:
        target[key] = value


def _shuffled(rng: random.Random, value: dict[str, Any]) -> dict[str, Any]:
    items = list(value.items())
    rng.shuffle(items)
    return dict(items)


def _tokens(rng: random.Random) -> object:
    if rng.random() < 0.015:  # values the SDK may coerce: the typed path decides
        return rng.choice([3.0, "5", True, 2**70])
    return rng.choice([0, 7, 1234, None, _MISSING, _MISSING])


def _details(rng: random.Random, names: tuple[str, ...]) -> object:
    roll = rng.random()
    if roll < 0.3:
        return _MISSING
    if roll < 0.4:
        return rng.choice([None, {}, {}, 5])
    details: dict[str, Any] = {}
    for name in names:
        _put(details, name, _tokens(rng))
    if rng.random() < 0.2:
        details["x_modality_tokens"] = {"image": 3}
    return _shuffled(rng, details)


def _usage(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.1:
        return _MISSING
    if roll < 0.15:
        return rng.choice([None, {}, [], "usage"])
    usage: dict[str, Any] = {}
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        _put(usage, name, _tokens(rng))
    prompt = ("cached_tokens", "audio_tokens", "cache_write_tokens", "image_tokens", "text_tokens")
    _put(usage, "prompt_tokens_details", _details(rng, prompt))
    completion_names = ("reasoning_tokens", "audio_tokens", "accepted_prediction_tokens")
    _put(usage, "completion_tokens_details", _details(rng, completion_names))
    for name in ("cache_read_input_tokens", "cache_creation_input_tokens"):  # FlexAI's own
        _put(usage, name, rng.choice([_MISSING, _MISSING, 0, 12, -1, None, "3"]))
    return _shuffled(rng, usage)


def _tool_call(rng: random.Random, index: int) -> dict[str, Any]:
    arguments = rng.choice(['{"q": "cat"}', "", "{not json", '{"n": 1, "deep": [1, {"a": null}]}'])
    call: dict[str, Any] = {
        "id": f"call_{index}",
        "type": "function",
        "function": {"name": "lookup", "arguments": arguments},
    }
    roll = rng.random()
    if roll < 0.04:
        del call["id"]
    elif roll < 0.08:
        call["function"]["arguments"] = {"q": "cat"}  # some servers send an object
    elif roll < 0.1:
        call["type"] = "custom"
        call["custom"] = call.pop("function")
    elif roll < 0.13:
        del call["function"]["arguments"]  # the typed call reads None: no arguments, a valid call
    elif roll < 0.2:
        call["x_index"] = index
    return _shuffled(rng, call)


def _message(rng: random.Random, index: int) -> object:
    if rng.random() < 0.01:
        return rng.choice([None, "A cat.", _MISSING])
    message: dict[str, Any] = {}
    _put(message, "role", "assistant" if rng.random() > 0.03 else rng.choice(["user", None]))
    content = rng.choice(["A cat.", "", None, _MISSING, 'ünïcødé ✓ \u2028 \\ " end'])
    _put(message, "content", content if rng.random() > 0.02 else ["A cat."])
    _put(message, "refusal", rng.choice([_MISSING, _MISSING, None, "I can't help.", ""]))
    _put(message, "reasoning_content", rng.choice([_MISSING, _MISSING, None, "Hmm.", "", 5]))
    calls = rng.choice([_MISSING, _MISSING, None, []]) if rng.random() > 0.02 else "calls"
    if rng.random() < 0.25:
        calls = [_tool_call(rng, i) for i in range(rng.randint(1, 3))]
    _put(message, "tool_calls", calls)
    extras: list[tuple[str, object]] = [
        ("name", "vision"),
        ("id", f"msg-{index}"),
        ("parsed", rng.choice([None, {"caption": "A cat."}])),
        ("annotations", []),
        ("audio", {"id": "a", "data": "", "expires_at": 0, "transcript": ""}),
        ("audio", {"id": "a"}),  # the typed audio fills in the rest with None
        ("function_call", {"name": "lookup", "arguments": "{}"}),
        ("function_call", {"name": "lookup"}),
        ("x_flexai", {"k": [1, 2.5, None]}),
    ]
    message.update(item for item in extras if rng.random() < 0.04)
    return _shuffled(rng, message)


def _choice(rng: random.Random, index: int) -> object:
    if rng.random() < 0.01:
        return "choice"
    choice: dict[str, Any] = {"index": index}
    _put(choice, "finish_reason", rng.choice(["stop", "length", "tool_calls", None, _MISSING, "x"]))
    logprobs = {"content": [{"token": "A", "logprob": -0.1, "top_logprobs": []}], "refusal": None}
    _put(choice, "logprobs", rng.choice([_MISSING, _MISSING, _MISSING, None, None, None, logprobs]))
    _put(choice, "message", _message(rng, index))
    _put(choice, "x_stop_reason", rng.choice([_MISSING, _MISSING, "eos", None]))
    return _shuffled(rng, choice)


def _body(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"object": "chat.completion", "created": 1_700_000_000}
    _put(body, "id", rng.choice(["chatcmpl-1", None, _MISSING, "chatcmpl-1"]))
    _put(body, "model", rng.choice(["phi-4-multimodal-instruct", None, _MISSING, "qwen"]))
    tiers = ["default", "flex", "priority", "auto", "odd", None, _MISSING, _MISSING]
    _put(body, "service_tier", rng.choice(tiers))
    _put(body, "system_fingerprint", rng.choice(["fp_1", "", None, _MISSING, _MISSING]))
    _put(body, "usage", _usage(rng))
    count = rng.choice([1, 1, 1, 1, 2, 0])
    choices: object = [_choice(rng, i) for i in range(count)]
    if rng.random() < 0.03:
        choices = rng.choice([None, _MISSING, "choices"])
    _put(body, "choices", choices)
    if rng.random() < 0.05:
        body["error"] = rng.choice([{"message": "overloaded", "code": 503}, None, {}, "oops"])
    if rng.random() < 0.1:
        body["x_flexai_meta"] = {"queue_ms": 3, "nan": rng.choice([1.5, float("nan")])}
    return _shuffled(rng, body)


_ODD_BODIES = [  # raw bodies orjson and the stdlib read differently, or not at all
    b"\xef\xbb\xbf" + json.dumps(completion("A cat.")).encode(),  # a UTF-8 byte-order mark
    json.dumps(completion("A cat.")).encode("utf-16"),
    b'{"choices": [], "x": NaN}',
    b"[1, 2]",
    b"null",
    b"not json",
    b"",
    b'{"id": "a", "id": "b", "model": "m", "choices": [], "usage": {"prompt_tokens": 1}}',
]


def _outcome(result: object) -> object:
    """What a call gave, key order included (``repr``); an exception by its type and text."""
    if isinstance(result, BaseException):
        return ("raised", type(result).__name__, str(result))
    if isinstance(result, BaseMessage):  # from `ainvoke`: a run id where the server sent none
        dump = result.model_dump()
        if str(dump["id"]).startswith("lc_run-"):
            dump["id"] = "lc_run-*"
        return repr(dump)
    assert isinstance(result, ChatResult)
    generations = [(g.message.model_dump(), g.generation_info) for g in result.generations]
    return repr(generations), repr(result.llm_output)


def _answers(recorder: WireRecorder, bodies: list[bytes]) -> list[tuple[object, ...]]:
    """Each body answered to ``_agenerate``, ``ainvoke``, ``_generate`` and ``invoke``.

    Every other model returns the response headers; every third answer has gateway metadata.
    """
    headers = {"content-type": "application/json", "x-request-id": "req-1"}
    gateway = {**headers, GATEWAY_METADATA_HEADER: '{"provider": "flexai"}'}
    models = [recorder.model(api_key="test-key", include_response_headers=h) for h in (0, 1)]

    async def call(awaitable: Any) -> object:
        try:
            return await awaitable
        except Exception as error:  # compared by type and message
            return error

    def sync_call(function: Callable[[], object]) -> object:
        try:
            return function()
        except Exception as error:  # compared by type and message
            return error

    async def run() -> list[tuple[object, ...]]:
        out = []
        for i, content in enumerate(bodies):
            model = models[i % 2]
            for _ in range(4):
                recorder.respond(content=content, headers=gateway if i % 3 == 0 else headers)
            answers = [
                await call(model._agenerate([HumanMessage("Hi")])),
                await call(model.ainvoke("Hi")),
                sync_call(lambda: model._generate([HumanMessage("Hi")])),  # noqa: B023
                sync_call(lambda: model.invoke("Hi")),  # noqa: B023
            ]
            out.append(tuple(map(_outcome, answers)))
        return out

    return asyncio.run(run())


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # a float for an int, typed
@pytest.mark.parametrize("reader", ["orjson", "json"])
def test_generated_answers_build_the_chat_result_langchain_openai_builds(
    monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "json":  # without the `fast` extra
        monkeypatch.setattr(_completion, "orjson", None)
    rng = random.Random(16)
    bodies = [json.dumps(_body(rng)).encode() for _ in range(300)] + _ODD_BODIES
    read: list[bool] = []
    real = results_module.completion_view

    def counting(content: bytes) -> Any:
        view = real(content)
        read.append(view is not None)
        return view

    monkeypatch.setattr(results_module, "completion_view", counting)
    ours = _answers(WireRecorder(), bodies)
    _typed_path(monkeypatch)
    theirs = _answers(WireRecorder(), bodies)

    for body, mine, typed in zip(bodies, ours, theirs, strict=True):
        assert mine == typed, body
    # Both paths were taken: most bodies are read from their JSON, the odd ones go typed.
    assert len(read) == 4 * len(bodies)
    assert sum(read) > len(read) // 2, sum(read)
    assert read.count(False) > len(read) // 10, read.count(False)
    answered = [m for m, *_ in ours if m[0] != "raised"]
    assert len(answered) > len(bodies) // 2
    assert any("'refusal': \"I can't help.\"" in m[0] for m in answered)
    assert any("reasoning_content" in m[0] for m in answered)
    assert any("'invalid_tool_calls': [{" in m[0] for m in answered)
    assert any("cache_read" in m[0] for m in answered)
    assert any(GATEWAY_METADATA_RESPONSE_KEY in m[0] for m in answered)


def test_a_client_that_validates_responses_strictly_keeps_the_sdk_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = WireRecorder()
    model = recorder.model(api_key="test-key")
    read: list[bytes] = []
    monkeypatch.setattr(results_module, "completion_view", read.append)
    for client in (model.root_client, model.root_async_client):
        monkeypatch.setattr(client, "_strict_response_validation", True)
    body = completion("A cat.")
    body["usage"]["prompt_tokens"] = "eleven"  # strict validation refuses it, the lax read not
    recorder.respond(json_body=body)
    with pytest.raises(openai.APIResponseValidationError):
        model.invoke("Hi")
    recorder.respond(json_body=body)
    with pytest.raises(openai.APIResponseValidationError):
        asyncio.run(model.ainvoke("Hi"))
    assert read == []


class _Details(openai.BaseModel):
    tokens: int | None = None


class _KnownUsage(openai.BaseModel):
    total: int
    details: _Details | None = None


class _NewKindOfUsage(_KnownUsage):
    unit: str | None = None  # a kind of field the JSON read does not know how to fill


def test_usage_fields_of_a_kind_the_json_read_does_not_know_send_usage_the_typed_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _completion._plan(_KnownUsage) == (("total", None), ("details", (("tokens", None),)))
    assert _completion._plan(_NewKindOfUsage) is None
    monkeypatch.setattr(_completion, "_USAGE", None)
    with_usage = completion("A cat.")
    without = {k: v for k, v in with_usage.items() if k != "usage"}
    assert _completion.completion_view(json.dumps(with_usage).encode()) is None
    view = _completion.completion_view(json.dumps(without).encode())
    assert view is not None
    assert view["usage"] is None


def test_the_response_headers_are_langchain_openais_dict_of_them() -> None:
    """``dict(headers.items())`` is ``dict(headers)``: lowercased names, repeats joined."""
    rng = random.Random(11)
    names = ["x-ratelimit-remaining-requests", "X-Request-ID", "Set-Cookie", "content-type", "via"]
    for _ in range(200):
        raw = [
            ("".join(c.upper() if rng.random() < 0.3 else c for c in rng.choice(names)), str(n))
            for n in range(rng.randint(0, 12))
        ]
        headers = sdk_httpx.Headers(raw)
        assert list(dict(headers.items()).items()) == list(dict(headers).items())


def _parameter_names(func: Callable[..., Any]) -> list[str]:
    """A function's parameter names, read from its code rather than through ``inspect``."""
    code = func.__code__
    names = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    return names + (
        [code.co_varnames[len(names)]] if code.co_flags & inspect.CO_VARKEYWORDS else []
    )


class _WithoutRunManager(ChatFlexAI):
    """A user's subclass whose override takes no ``run_manager``."""

    async def _agenerate(  # type: ignore[override]
        self, messages: list[BaseMessage], stop: list[str] | None = None, **kwargs: Any
    ) -> ChatResult:
        _SEEN.append(dict(kwargs))
        return await super()._agenerate(messages, stop, **kwargs)


_SEEN: list[dict[str, Any]] = []


@pytest.mark.parametrize("cls", [ChatFlexAI, _WithoutRunManager])
@pytest.mark.parametrize("name", ["_generate", "_agenerate"])
def test_the_signature_langchain_core_reads_on_every_call_is_the_methods_own(
    cls: type[ChatFlexAI], name: str
) -> None:
    method = getattr(cls(api_key="test-key"), name)
    assert list(inspect.signature(method).parameters) == _parameter_names(method.__func__)[1:]
    assert "__signature__" in method.__func__.__dict__  # kept, not rebuilt on each call


def test_a_subclass_override_without_run_manager_is_called_without_it() -> None:
    recorder = WireRecorder()
    recorder.respond(json_body=completion("A cat."))
    model = recorder.model(_WithoutRunManager, api_key="test-key")
    _SEEN.clear()
    assert asyncio.run(model.ainvoke("Hi")).content == "A cat."
    assert _SEEN == [{}]
