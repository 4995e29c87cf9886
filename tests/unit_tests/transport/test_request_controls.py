"""Wire-level tests of what ChatFlexAI adds to FlexAI's protocol: cached-token usage, reasoning
controls (reasoning_effort, thinking), the n > 1 guard and the User-Agent.

Every test reads what reached the (in-process, socket-free) server, or asserts that nothing did.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_flexai import ChatFlexAI, __version__
from langchain_flexai.catalog import FlexAICatalog, ModelInfo
from langchain_flexai.errors import FlexAIConfigError, ModelCapabilityError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from wire import WireRecorder, chunk, completion, sse

HYBRID = "gemma-4-31b-it"
ALWAYS = "gpt-oss-120b"
PLAIN = "phi-4-multimodal-instruct"
CATALOG = FlexAICatalog.from_models(
    [
        ModelInfo(id=HYBRID, name=HYBRID, capabilities=frozenset({"hybrid_thinking"})),
        ModelInfo(
            id=ALWAYS, name=ALWAYS, capabilities=frozenset({"reasoning_effort", "always_thinking"})
        ),
        ModelInfo(id=PLAIN, name=PLAIN, capabilities=frozenset({"vision"})),
    ]
)


def _model(recorder: WireRecorder, **kwargs: Any) -> ChatFlexAI:
    kwargs.setdefault("model_catalog", CATALOG)
    return recorder.model(api_key="test-key", **kwargs)


def _usage_body(**extra: Any) -> dict[str, Any]:
    body = completion()
    body["usage"] = {"prompt_tokens": 2000, "completion_tokens": 3, "total_tokens": 2003, **extra}
    return body


def _stream_body(usage: dict[str, Any]) -> bytes:
    return sse(
        chunk({"role": "assistant", "content": "hi"}),
        chunk({}, finish_reason="stop"),
        chunk(None, usage={"prompt_tokens": 2000, "completion_tokens": 3, **usage}),
    )


# -- cached-token usage --------------------------------------------------------------------------

CACHE = {"cache_read_input_tokens": 1536, "cache_creation_input_tokens": 464}
DETAILS = {"cache_read": 1536, "cache_creation": 464}


def test_invoke_reports_flexai_cache_fields_in_input_token_details() -> None:
    recorder = WireRecorder()
    recorder.respond(json_body=_usage_body(**CACHE))
    usage = _model(recorder).invoke("hi").usage_metadata
    assert usage is not None
    assert usage["input_tokens"] == 2000  # cached tokens are part of the prompt count
    assert usage["input_token_details"] == DETAILS


def test_ainvoke_reports_flexai_cache_fields() -> None:
    recorder = WireRecorder()
    recorder.respond(json_body=_usage_body(cache_read_input_tokens=1024))
    message = asyncio.run(_model(recorder).ainvoke("hi"))
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_token_details"] == {"cache_read": 1024}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stream_reports_flexai_cache_fields(mode: str) -> None:
    recorder = WireRecorder()
    recorder.respond(content=_stream_body(CACHE), stream=True)
    model = _model(recorder)

    async def collect() -> list[AIMessageChunk]:
        return [c async for c in model.astream("hi")]

    chunks = list(model.stream("hi")) if mode == "sync" else asyncio.run(collect())
    full = chunks[0]
    for piece in chunks[1:]:
        full += piece
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_token_details"] == DETAILS


def test_openai_style_cached_tokens_still_land_and_are_not_doubled() -> None:
    recorder = WireRecorder()
    body = _usage_body(cache_read_input_tokens=1536)
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 1536}
    recorder.respond(json_body=body)
    usage = _model(recorder).invoke("hi").usage_metadata
    assert usage is not None
    assert usage["input_token_details"] == {"cache_read": 1536}


def test_no_cache_fields_no_details() -> None:
    recorder = WireRecorder()
    recorder.respond(json_body=_usage_body())
    usage = _model(recorder).invoke("hi").usage_metadata
    assert usage is not None
    assert "cache_read" not in usage.get("input_token_details", {})


@pytest.mark.parametrize("bad", [-1, "12", 1.5, True, None])
def test_malformed_cache_fields_are_ignored(bad: object) -> None:
    recorder = WireRecorder()
    recorder.respond(json_body=_usage_body(cache_read_input_tokens=bad))
    usage = _model(recorder).invoke("hi").usage_metadata
    assert usage is not None
    assert "cache_read" not in usage.get("input_token_details", {})


# -- reasoning controls -------------------------------------------------------------------------


@pytest.mark.parametrize(("thinking", "kind"), [(True, "enabled"), (False, "disabled")])
def test_thinking_reaches_the_wire_for_hybrid_models(thinking: bool, kind: str) -> None:
    recorder = WireRecorder()
    _model(recorder, model=HYBRID, thinking=thinking).invoke("hi")
    assert recorder.last["thinking"] == {"type": kind}
    assert "reasoning_effort" not in recorder.last


def test_thinking_per_call_wins_and_keeps_other_extra_body() -> None:
    recorder = WireRecorder()
    model = _model(recorder, model=HYBRID, thinking=True, extra_body={"top_k": 5})
    model.invoke("hi", thinking=False)
    assert recorder.last["thinking"] == {"type": "disabled"}
    assert recorder.last["top_k"] == 5
    asyncio.run(model.bind(thinking=True).ainvoke("hi"))
    assert recorder.last["thinking"] == {"type": "enabled"}


def test_thinking_off_for_an_always_thinking_model_is_refused_before_sending() -> None:
    recorder = WireRecorder()
    model = _model(recorder, model=ALWAYS)
    with pytest.raises(ModelCapabilityError, match="'gpt-oss-120b' always thinks"):
        model.invoke("hi", thinking=False)
    with pytest.raises(ModelCapabilityError, match="always thinks"):
        list(_model(recorder, model=ALWAYS, thinking=False).stream("hi"))
    assert recorder.requests == []


def test_thinking_on_for_an_always_thinking_model_sends_nothing_extra() -> None:
    recorder = WireRecorder()
    _model(recorder, model=ALWAYS, thinking=True).invoke("hi")
    assert "thinking" not in recorder.last


def test_reasoning_effort_reaches_the_wire_for_tagged_models() -> None:
    recorder = WireRecorder()
    _model(recorder, model=ALWAYS, reasoning_effort="high").invoke("hi")
    assert recorder.last["reasoning_effort"] == "high"
    _model(recorder, model=ALWAYS).invoke("hi", reasoning_effort="minimal")
    assert recorder.last["reasoning_effort"] == "minimal"


@pytest.mark.parametrize(("model", "advice"), [(HYBRID, "thinking=True/False"), (PLAIN, "remove")])
def test_reasoning_effort_for_a_model_without_the_tag_is_refused(model: str, advice: str) -> None:
    recorder = WireRecorder()
    with pytest.raises(ModelCapabilityError, match="does not take reasoning_effort") as info:
        _model(recorder, model=model).invoke("hi", reasoning_effort="low")
    assert advice in str(info.value)
    assert recorder.requests == []


def test_unknown_models_get_the_controls_as_given() -> None:
    recorder = WireRecorder()
    model = _model(recorder, model="some-new-model", thinking=False, reasoning_effort="max")
    model.invoke("hi")
    assert recorder.last["thinking"] == {"type": "disabled"}
    assert recorder.last["reasoning_effort"] == "max"


def test_check_capabilities_false_sends_everything_as_given() -> None:
    recorder = WireRecorder()
    model = _model(recorder, model=ALWAYS, thinking=False, check_capabilities=False)
    model.invoke("hi")
    assert recorder.last["thinking"] == {"type": "disabled"}


def test_thinking_must_be_a_bool() -> None:
    recorder = WireRecorder()
    with pytest.raises(FlexAIConfigError, match="thinking must be True, False or None"):
        _model(recorder, model=HYBRID).invoke("hi", thinking="off")
    assert recorder.requests == []


# -- n > 1 ---------------------------------------------------------------------------------------


def test_n_above_one_is_refused_at_construction() -> None:
    with pytest.raises(FlexAIConfigError, match=r"n > 1 \(it answers 400\)") as info:
        ChatFlexAI(api_key="test-key", n=3)
    assert "model.batch([messages] * 3)" in str(info.value)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "generate"])
def test_n_above_one_per_call_is_refused_before_sending(mode: str) -> None:
    recorder = WireRecorder()
    model = _model(recorder)
    calls = {
        "invoke": lambda: model.invoke("hi", n=2),
        "ainvoke": lambda: asyncio.run(model.ainvoke("hi", n=2)),
        "generate": lambda: model.generate([[HumanMessage("hi")]], n=2),
    }
    with pytest.raises(FlexAIConfigError, match="n > 1"):
        calls[mode]()
    assert recorder.requests == []


def test_n_of_one_is_sent() -> None:
    recorder = WireRecorder()
    _model(recorder, n=1).invoke("hi")
    assert recorder.last["n"] == 1


# -- User-Agent ----------------------------------------------------------------------------------


def test_user_agent_names_the_package_after_the_sdk() -> None:
    recorder = WireRecorder()
    model = _model(recorder)
    model.invoke("hi")
    asyncio.run(model.ainvoke("hi"))
    sync_agent, async_agent = (r.headers["user-agent"] for r in recorder.requests)
    token = f"langchain-flexai/{__version__}"
    assert sync_agent == f"OpenAI/Python {openai.__version__} {token}"
    assert async_agent == f"AsyncOpenAI/Python {openai.__version__} {token}"


def test_a_user_agent_of_ones_own_is_kept_and_the_setting_untouched() -> None:
    recorder = WireRecorder()
    model = _model(recorder, default_headers={"user-agent": "my-app/1"})
    model.invoke("hi")
    assert recorder.requests[-1].headers["user-agent"] == "my-app/1"
    plain = _model(recorder)
    assert plain.default_headers is None  # the identity is the client's, not a setting
