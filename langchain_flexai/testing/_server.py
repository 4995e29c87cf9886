"""The emulator's HTTP surface: a Starlette app speaking FlexAI's protocol.

Knows the routes (``POST /v1/chat/completions`` as JSON or SSE, ``GET /v1/models``,
``GET /api/models``, ``GET /api/status``), the order of gateway checks (auth, rate limit,
injected faults, credit, model, body), the error envelope, the ``x-ratelimit-*`` headers and
SSE framing (usage only with ``stream_options.include_usage``, in a final ``"choices": []``
chunk, then ``data: [DONE]``). The reply itself comes from ``_model``; this module adds ids,
timestamps and framing. It reads each body within ``Limits`` (413 past the size cap, from
``Content-Length`` or while the body streams in; 408 when it stalls; 400 for JSON too deep or
too large to parse) and ignores a client that went away. Knows nothing about threads or
sockets (see ``_emulator``). ``POST /v1/embeddings`` answers from ``_embeddings``.
``build_app`` puts ``_hot_route`` in front of the Starlette app: chat completions reach the
same gateway without Starlette's per-request layers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

from langchain_flexai.testing._catalog_data import CatalogModel
from langchain_flexai.testing._embeddings import (
    embeddings_body,
    not_a_chat_model,
    read_embeddings_request,
)
from langchain_flexai.testing._errors import (
    EmulatedError,
    invalid_api_key,
    under_maintenance,
)
from langchain_flexai.testing._faults import Faults
from langchain_flexai.testing._hot_route import CompactJSONResponse, HotRouteApp
from langchain_flexai.testing._limits import (
    Limits,
    RecordedRequest,
    RequestLog,
    body_timed_out,
    body_too_large,
    parse_body,
)
from langchain_flexai.testing._model import Answer, answer
from langchain_flexai.testing._prompt_cache import CacheUse, PromptCache
from langchain_flexai.testing._request import lookup_model, read_request

_LOG = logging.getLogger("langchain_flexai.testing")
_REDACTED = "<redacted>"
_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})
_FRAGMENT_CHARS = 8
_MAX_FRAGMENTS = 2048
"""Most SSE events one piece of content (text, JSON, tool arguments) is streamed in."""
_WORDS = re.compile(r"\S+\s*|\s+")


class Incoming(Protocol):
    """What the gateway reads of a request: a Starlette ``Request`` or a ``HotRequest``."""

    @property
    def scope(self) -> Scope:
        """The ASGI scope (``path`` is the route's: literal, so it is ``url.path``)."""

    @property
    def method(self) -> str:
        """The HTTP method."""

    @property
    def headers(self) -> Headers:
        """The request headers."""

    def stream(self) -> AsyncIterator[bytes]:
        """The body's chunks as they arrive."""


@dataclass
class ServerState:
    """What the app shares with the emulator object that owns it."""

    api_key: str
    catalog: dict[str, CatalogModel]
    faults: Faults
    limits: Limits = field(default_factory=Limits)
    log: RequestLog = field(init=False)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    prompt_cache: PromptCache = field(default_factory=PromptCache)

    def __post_init__(self) -> None:
        """Create the request log bounded by ``limits``."""
        self.log = RequestLog(self.limits)

    def record(self, request: Incoming, body: Any, *, size: int = 0, values: int = 0) -> None:
        """Append a redacted record of ``request`` to the bounded log."""
        headers = {
            key: (_REDACTED if key in _SECRET_HEADERS else value)
            for key, value in request.headers.items()
        }
        entry = RecordedRequest(
            request.method, request.scope["path"], MappingProxyType(headers), body, size
        )
        self.log.append(entry, RequestLog.weight(size, values))


async def read_body(request: Incoming, limits: Limits) -> bytearray:
    """The whole body, never more than ``limits.max_body_bytes`` + one read of it.

    Raises:
        EmulatedError: 413 past the size cap, 408 when a read stalls past the body timeout.
        ClientDisconnect: the client went away before the body was complete.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise body_too_large(limits.max_body_bytes)
    # One growing buffer: a list of chunks joined at the end would hold the body twice.
    received = bytearray()
    # Chunked uploads have no length: count while reading and stop at the cap. Each read
    # is at most what uvicorn buffered (it pauses the socket past 64 KiB).
    # One timer, moved after each read, bounds every stall: asyncio.wait_for per read would
    # create a task and a timer for each chunk (a tenth of a small request's cost).
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    stalled = False

    def expire() -> None:
        nonlocal stalled
        stalled = True
        if task is not None:
            task.cancel()

    timer = loop.call_later(limits.body_timeout, expire)
    try:
        async for chunk in request.stream():
            timer.cancel()
            if len(received) + len(chunk) > limits.max_body_bytes:
                raise body_too_large(limits.max_body_bytes)
            received += chunk
            timer = loop.call_later(limits.body_timeout, expire)
    except asyncio.CancelledError:
        if not stalled:
            raise
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: the cancel was ours
        if uncancel is not None:
            uncancel()
        raise body_timed_out(limits.body_timeout) from None
    finally:
        timer.cancel()
    return received


class _StreamCutError(Exception):
    """Raised inside a streamed body to cut the connection mid-response (a fault)."""


class _DropStreamCuts(logging.Filter):
    # Uvicorn logs every exception escaping the app; a deliberate cut is not an error.
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, _StreamCutError):
                return False
            group = getattr(exc, "exceptions", None)
            exc = group[0] if group else exc.__cause__ or exc.__context__
        return True


_STREAM_CUT_FILTER = _DropStreamCuts()


def install_log_filter() -> None:
    """Keep uvicorn from logging deliberate stream cuts as errors (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _STREAM_CUT_FILTER not in logger.filters:
        logger.addFilter(_STREAM_CUT_FILTER)


def _error_response(error: EmulatedError, rate_headers: dict[str, str]) -> JSONResponse:
    # The error's own headers win: a 429 reports the window state it was refused in.
    return JSONResponse(
        error.envelope(), status_code=error.status, headers={**rate_headers, **error.headers}
    )


def _bearer_key(request: Incoming) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


Handler = Callable[[Incoming, Any], Awaitable[Response]]


class _Routes:
    """The endpoints of one emulator, all sharing its ``ServerState``."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def gateway(
        self, request: Incoming, handler: Handler, *, authenticated: bool
    ) -> Response:
        """Read and record, delay, authenticate, rate-limit and inject faults, then run it."""
        try:
            raw = await read_body(request, self.state.limits)
        except ClientDisconnect:
            # Nobody is left to answer; uvicorn drops a response to a closed connection.
            return Response(status_code=400)
        except EmulatedError as refused:
            # 413 / 408 before any gateway check, as a front proxy would; not rate-counted.
            self.state.record(request, None)
            return _error_response(refused, self.state.faults.rate_state().headers())
        body: Any = None
        parse_error: EmulatedError | None = None
        values = 0
        size = len(raw)
        if raw:
            try:
                body, values = parse_body(raw, self.state.limits)
            except EmulatedError as error:
                parse_error = error
        del raw  # up to max_body_bytes: not held while the answer is computed
        self.state.record(request, body, size=size, values=values)
        faults = self.state.faults
        if faults.latency:
            await asyncio.sleep(faults.latency)
        try:
            rate_headers = self._preflight(request, authenticated=authenticated)
            if parse_error is not None:
                raise parse_error  # noqa: TRY301
            response = await handler(request, body)
        except EmulatedError as error:
            # After a successful admission the window already counts this request.
            return _error_response(error, faults.rate_state().headers())
        except Exception:  # noqa: BLE001 - a gateway answers 500, it does not drop the connection
            _LOG.exception(
                "the FlexAI emulator failed on %s %s", request.method, request.scope["path"]
            )
            crash = EmulatedError(
                500, "Internal error in the FlexAI emulator.", type_="server_error", code=None
            )
            return _error_response(crash, faults.rate_state().headers())
        response.headers.update(rate_headers)
        return response

    def _preflight(self, request: Incoming, *, authenticated: bool) -> dict[str, str]:
        """Auth, rate limit and injected faults; returns the ``x-ratelimit-*`` headers."""
        faults = self.state.faults
        if not authenticated:
            return faults.rate_state().headers()
        if _bearer_key(request) != self.state.api_key:
            raise invalid_api_key()
        headers = faults.admit().headers()
        injected = faults.take_injected()
        if injected is not None:
            raise injected
        return headers

    def route(self, path: str, handler: Handler, method: str, *, authenticated: bool) -> Route:
        """A Starlette route sending requests through the gateway."""

        async def endpoint(request: Request) -> Response:
            return await self.gateway(request, handler, authenticated=authenticated)

        return Route(path, endpoint, methods=[method])

    def _maintained(self, model: str) -> bool:
        return self.state.faults.is_under_maintenance(model)

    async def chat_completions(self, _request: Incoming, body: Any) -> Response:
        """``POST /v1/chat/completions``: JSON, or SSE when ``stream`` is true."""
        requested, model = lookup_model(body, self.state.catalog)
        if model.dimensions:
            raise not_a_chat_model(requested)
        if self._maintained(requested):
            raise under_maintenance(requested)
        self.state.faults.check_credit()
        chat = read_request(body, requested, model)
        result = answer(chat)
        cached = self.state.prompt_cache.use(
            model.id, body["messages"], chat.prefix_tokens, result.prompt_tokens
        )
        cost = model.cost_usd(
            result.prompt_tokens, result.completion_tokens, cached=cached.read if cached else 0
        )
        self.state.faults.charge(cost)
        number = next(self.state.ids)
        head = _Head(f"chatcmpl-{number:024x}", int(time.time()), requested, number, cached)
        if not chat.stream:
            return CompactJSONResponse(_completion(result, head))
        chunks = _chunks(result, head, include_usage=chat.include_usage)
        return StreamingResponse(
            _sse(chunks, self.state.faults.cut_stream_after, self.state.faults.cut_stream_mode),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        )

    async def embeddings(self, _request: Incoming, body: Any) -> Response:
        """``POST /v1/embeddings``: one vector per input text (``_embeddings``)."""
        requested, model = lookup_model(body, self.state.catalog)
        if self._maintained(requested):
            raise under_maintenance(requested)
        self.state.faults.check_credit()
        request = read_embeddings_request(body, requested, model)
        self.state.faults.charge(model.cost_usd(request.prompt_tokens, 0))
        # Up to a few seconds of CPU for the largest request: off the loop, which keeps serving.
        return JSONResponse(await asyncio.to_thread(embeddings_body, request))

    async def openai_models(self, _request: Incoming, _body: Any) -> Response:
        """``GET /v1/models`` (authenticated)."""
        data = [
            m.openai_entry(ready=not self._maintained(m.id)) for m in self.state.catalog.values()
        ]
        return JSONResponse({"object": "list", "data": data})

    async def public_models(self, _request: Incoming, _body: Any) -> Response:
        """``GET /api/models`` (public): a bare JSON array."""
        return JSONResponse(
            [
                m.public_entry(health_status="maintenance" if self._maintained(m.id) else "healthy")
                for m in self.state.catalog.values()
            ]
        )

    async def status(self, _request: Incoming, _body: Any) -> Response:
        """``GET /api/status`` (public): overall, per-component and per-model status."""
        models = [
            {"model": m.id, "status": "maintenance" if self._maintained(m.id) else "ok"}
            for m in self.state.catalog.values()
        ]
        overall = "degraded" if any(e["status"] != "ok" for e in models) else "ok"
        return JSONResponse(
            {
                "status": overall,
                "components": [
                    {"name": "api", "status": "ok"},
                    {"name": "inference", "status": overall},
                ],
                "models": models,
            }
        )

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """404 / 405 in FlexAI's envelope."""
        status_code = exc.status_code if isinstance(exc, HTTPException) else 404
        error = EmulatedError(
            status_code,
            f"{request.method} {request.url.path} is not part of the FlexAI API.",
            type_="invalid_request_error",
            code="not_found" if status_code == 404 else "method_not_allowed",  # noqa: PLR2004
        )
        return _error_response(error, self.state.faults.rate_state().headers())


def build_app(state: ServerState) -> ASGIApp:
    """The ASGI app for one emulator: chat completions first, the rest through Starlette."""
    routes = _Routes(state)

    async def chat(request: Incoming) -> Response:
        return await routes.gateway(request, routes.chat_completions, authenticated=True)

    app = Starlette(
        routes=[
            routes.route(
                "/v1/chat/completions", routes.chat_completions, "POST", authenticated=True
            ),
            routes.route("/v1/embeddings", routes.embeddings, "POST", authenticated=True),
            routes.route("/v1/models", routes.openai_models, "GET", authenticated=True),
            routes.route("/api/models", routes.public_models, "GET", authenticated=False),
            routes.route("/api/status", routes.status, "GET", authenticated=False),
        ],
        exception_handlers={404: routes.not_found, 405: routes.not_found},
    )
    # The same gateway either way; the hot route only skips Starlette's per-request layers.
    return HotRouteApp(app, "POST", "/v1/chat/completions", chat)


@dataclass(frozen=True)
class _Head:
    """What every chunk of one completion repeats."""

    id: str
    created: int
    model: str
    number: int
    cached: CacheUse | None = None
    """What the prompt cache served (``_prompt_cache``); its fields join ``usage``."""


def _usage(result: Answer, head: _Head) -> dict[str, int]:
    usage = {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }
    return usage | head.cached.usage_fields() if head.cached else usage


def _tool_call_id(number: int, index: int) -> str:
    return f"call_{number:016x}{index:08x}"


def _completion(result: Answer, head: _Head) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": result.content}
    if result.reasoning is not None:
        message["reasoning_content"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = [
            {
                "id": _tool_call_id(head.number, index),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for index, call in enumerate(result.tool_calls)
        ]
    return {
        "id": head.id,
        "object": "chat.completion",
        "created": head.created,
        "model": head.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": result.finish_reason,
            }
        ],
        "usage": _usage(result, head),
    }


def _fragments(text: str, *, words: bool) -> list[str]:
    if words:
        pieces = _WORDS.findall(text)
        # Word by word, but a long text groups words so it never takes more events than
        # _MAX_FRAGMENTS (each event costs a JSON dump and a write).
        group = -(-len(pieces) // _MAX_FRAGMENTS)
        if group <= 1:
            return pieces
        return ["".join(pieces[i : i + group]) for i in range(0, len(pieces), group)]
    size = max(_FRAGMENT_CHARS, -(-len(text) // _MAX_FRAGMENTS))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _chunks(result: Answer, head: _Head, *, include_usage: bool) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "id": head.id,
        "object": "chat.completion.chunk",
        "created": head.created,
        "model": head.model,
    }
    if include_usage:
        # OpenAI-style servers send "usage": null on every chunk but the last.
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    first: dict[str, Any] = {"role": "assistant", "content": "" if result.content else None}
    chunks = [chunk(first)]
    chunks.extend(
        chunk({"reasoning_content": piece})
        for piece in _fragments(result.reasoning or "", words=True)
    )
    is_json = (result.content or "").startswith(("{", "["))
    chunks.extend(
        chunk({"content": piece}) for piece in _fragments(result.content or "", words=not is_json)
    )
    for index, call in enumerate(result.tool_calls):
        opening = {
            "index": index,
            "id": _tool_call_id(head.number, index),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [opening]}))
        chunks.extend(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in _fragments(call.arguments, words=False)
        )
    chunks.append(chunk({}, result.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(result, head)})
    return chunks


async def _sse(
    chunks: list[dict[str, Any]], cut_after: int | None, mode: str
) -> AsyncIterator[bytes]:
    events = [f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode() for c in chunks]
    events.append(b"data: [DONE]\n\n")
    for sent, event in enumerate(events):
        if cut_after is not None and sent >= cut_after:
            if mode == "close":
                return
            raise _StreamCutError
        yield event
        # Yield to the loop so each event leaves as its own write, as a real server's would.
        await asyncio.sleep(0)
