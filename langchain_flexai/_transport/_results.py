"""langchain-openai's chat completion steps, with the result built where the answer arrives.

langchain-openai's ``_agenerate`` sends the request, then builds the ``ChatResult`` in a worker
thread (``run_in_executor``). For a chat completion that work is a ``model_dump`` and a message
(tens of microseconds) while the hop costs more: a thread handoff on every async request, and
the GIL passed back and forth while the loop has sockets to serve (about 0.2 ms of CPU per
request in a describe run). Here the same steps run in the same order with the same helpers, and
the result is built on the loop, as langchain-openai's own sync path builds it. Chat
completions only: a request for the Responses API goes to langchain-openai's ``_agenerate``
(``_generate`` when sync).

Both paths, sync and async, read a plain chat completion (not structured output) from its JSON
body without the SDK's typed ``ChatCompletion`` (``_completion``: the same ``ChatResult``, a
tenth of the CPU); a body whose typed form could differ from its JSON, or a client that
validates responses strictly, takes the typed path.

Knows the steps of langchain-openai's ``_generate`` and ``_agenerate`` (three of its private
helpers; the tests pin that both give the same results and errors); knows nothing about FlexAI's
protocol, images or messages.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import openai
from langchain_openai.chat_models.base import (
    BaseChatOpenAI,
    _add_gateway_metadata,
    _handle_openai_api_error,
    _handle_openai_bad_request,
)

from langchain_flexai._transport._completion import (
    CompletionView,
    completion_view,
    typed_message_fields,
)

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatResult

__all__ = ["LoopResults"]


_SIGNATURE_CHECKED = ("_generate", "_agenerate")


class _Sent:
    """The raw response of one request, and langchain-openai's error mapping around it.

    As in langchain-openai's ``_generate``/``_agenerate``: a 400 and other API errors go
    through its helpers (which raise), and any other error leaving the block gets the raw
    response's ``http_response`` when there is one.
    """

    def __init__(self) -> None:
        self.raw: Any = None

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        if isinstance(error, openai.BadRequestError):
            _handle_openai_bad_request(error)
        elif isinstance(error, openai.APIError):
            _handle_openai_api_error(error)
        elif isinstance(error, Exception) and hasattr(self.raw, "http_response"):
            error.response = self.raw.http_response  # type: ignore[attr-defined]


class LoopResults(BaseChatOpenAI):
    """``BaseChatOpenAI`` whose chat completions build their result where the answer arrives."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # langchain-core asks for `_generate`'s or `_agenerate`'s signature on every call, to
        # learn whether it takes `run_manager`. inspect returns a function's `__signature__` as
        # it finds it instead of rebuilding one from the code: 29 µs less a call, here and in
        # every subclass (a subclass's own override gets its own).
        for name in _SIGNATURE_CHECKED:
            method = cls.__dict__.get(name)
            if inspect.isfunction(method) and "__signature__" not in method.__dict__:
                method.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._ensure_sync_client_available()
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        structured = "response_format" in payload
        if not structured and self._use_responses_api(payload):
            return super()._generate(messages, stop, run_manager, **kwargs)
        sent = _Sent()
        with sent:
            if structured:
                payload.pop("stream")
                completions = self.root_client.chat.completions
                sent.raw = completions.with_raw_response.parse(**payload)
            else:
                sent.raw = self.client.with_raw_response.create(**payload)
            response = _parsed(self.root_client, sent.raw, structured=structured)
        return self._result(response, sent.raw)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        payload = self._get_request_payload(messages, stop=stop, **kwargs)
        structured = "response_format" in payload
        if not structured and self._use_responses_api(payload):
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        sent = _Sent()
        with sent:
            if structured:
                payload.pop("stream")
                completions = self.root_async_client.chat.completions
                sent.raw = await completions.with_raw_response.parse(**payload)
            else:
                sent.raw = await self.async_client.with_raw_response.create(**payload)
            response = _parsed(self.root_async_client, sent.raw, structured=structured)
        return self._result(response, sent.raw)

    def _result(self, response: Any, raw_response: Any) -> ChatResult:
        generation_info: dict[str, Any] = {}
        if self.include_response_headers and hasattr(raw_response, "headers"):
            # langchain-openai's dict(headers), in one pass: dict() looks each key up again, and
            # httpx's lookup scans every header (a FlexAI answer has about twenty).
            generation_info = {"headers": dict(raw_response.headers.items())}
        _add_gateway_metadata(generation_info, raw_response)
        return self._create_chat_result(response, generation_info)

    def _create_chat_result(
        self,
        response: dict[str, Any] | openai.BaseModel,
        generation_info: dict[str, Any] | None = None,
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        if isinstance(response, CompletionView):  # what the typed path copies from the message
            typed_message_fields(result, response)
        return result


def _parsed(client: object, raw_response: Any, *, structured: bool) -> Any:
    """The answer: read from its JSON body where that gives the typed path's result, else typed.

    Structured output keeps the SDK's parse (its ``parsed`` objects), and a client that
    validates responses strictly (``_strict_response_validation``) the SDK's validation.
    """
    if not structured and not getattr(client, "_strict_response_validation", True):
        view = completion_view(raw_response.http_response.content)
        if view is not None:
            return view
    return raw_response.parse()
