"""An in-process FlexAI stand-in for unit tests: `httpx.MockTransport`, no sockets.

It records each request (method, URL, headers, JSON body) and answers from a queue of canned
responses, defaulting to a plain chat completion. Integration tests use the real emulator instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from langchain_flexai import ChatFlexAI


def completion(
    content: str = "ok",
    *,
    model: str = "phi-4-multimodal-instruct",
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """A chat.completion body as FlexAI sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
        finish_reason = "tool_calls"
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
    }


def sse(*events: dict[str, Any], done: bool = True) -> bytes:
    """Frame chunks as FlexAI's server-sent events."""
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    if done:
        body += "data: [DONE]\n\n"
    return body.encode()


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
    model: str = "phi-4-multimodal-instruct",
) -> dict[str, Any]:
    """A chat.completion.chunk; ``delta=None`` with usage makes the final usage-only chunk."""
    event: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    if usage is not None:
        event["usage"] = usage
    return event


def error_body(status: int, message: str, *, type_: str | None, code: str | None) -> bytes:
    """FlexAI's error envelope."""
    return json.dumps({"error": {"message": message, "type": type_, "code": code}}).encode()


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class WireRecorder:
    """Queue responses with :meth:`respond`; read what was sent from :attr:`requests`."""

    requests: list[Recorded] = field(default_factory=list)
    _queue: list[httpx.Response] = field(default_factory=list)

    def respond(
        self,
        status: int = 200,
        *,
        json_body: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> None:
        """Queue one response; when the queue is empty a plain completion is sent."""
        hdrs = dict(headers or {})
        if stream:
            hdrs.setdefault("content-type", "text/event-stream")
        if json_body is not None:
            content = json.dumps(json_body).encode()
            hdrs.setdefault("content-type", "application/json")
        self._queue.append(httpx.Response(status, content=content or b"", headers=hdrs))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        raw = request.read()
        body = json.loads(raw) if raw else None
        self.requests.append(
            Recorded(request.method, str(request.url), dict(request.headers), body)
        )
        if self._queue:
            return self._queue.pop(0)
        return httpx.Response(200, json=completion())

    async def _ahandle(self, request: httpx.Request) -> httpx.Response:
        return self._handle(request)

    @property
    def last(self) -> dict[str, Any]:
        """The JSON body of the last request."""
        assert self.requests, "no request was sent"
        body = self.requests[-1].body
        assert body is not None
        return body

    def model(self, cls: type[ChatFlexAI] = ChatFlexAI, **kwargs: Any) -> ChatFlexAI:
        """A ChatFlexAI (or ``cls``) whose sync and async HTTP go through this recorder."""
        kwargs.setdefault("max_retries", 0)
        return cls(
            http_client=httpx.Client(transport=httpx.MockTransport(self._handle)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self._ahandle)),
            **kwargs,
        )
