"""Async chat completions build their result on the event loop, as langchain-openai would build it.

``_transport._results`` repeats langchain-openai's ``_agenerate`` without its worker-thread hop.
These tests pin that both give the same messages and the same errors (langchain-openai's own
``_agenerate`` is put back for the comparison), and that no executor is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.messages import BaseMessage
from pydantic import BaseModel

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
    """``run`` with our ``_agenerate``, then with langchain-openai's, on fresh recorders."""
    ours, theirs = WireRecorder(), WireRecorder()
    mine = run(ours)
    monkeypatch.delattr(LoopResults, "_agenerate")  # back to BaseChatOpenAI._agenerate
    return mine, run(theirs), ours, theirs


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


def test_a_structured_async_answer_is_the_one_langchain_openai_builds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run(recorder: WireRecorder) -> Any:
        recorder.respond(json_body=completion('{"caption": "A cat."}'))
        model = recorder.model(api_key="test-key")
        structured = model.with_structured_output(Caption, method="json_schema", include_raw=True)
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
