"""FlexAI's errors as a user reads them: one hint each, the URL tried, and no key inside.

Every error kind ChatFlexAI raises from HTTP (status errors, connection failures, timeouts,
interrupted streams) is checked on the sync, async and streaming paths: its exact text, its
class (the SDK's, so fallbacks work), and that neither the error nor its pickled bytes carry
the API key.
"""

from __future__ import annotations

import pickle
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from langchain_flexai import ChatFlexAI, FlexAICatalog, FlexAICatalogError
from langchain_flexai._transport._errors import (
    FlexAIConnectionError,
    FlexAICreditExhaustedError,
    FlexAIStreamInterruptedError,
    FlexAITimeoutError,
)
from tests.unit_tests.wire import chunk, error_body, sse

# -- one hint per error -----------------------------------------------------------------------

CREDIT = "Your FlexAI credit is exhausted; top up the account and retry."
NOT_RETRIED = "This request was not retried."
TOOL = "This model declines forced tool calls; use tool_choice='auto' or another model."
VISION = "Send images to a vision model, e.g. model='phi-4-multimodal-instruct'."


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        # FlexAI's message gives the advice already (as the emulator's do): no second copy.
        (
            402,
            "402",
            "Insufficient credit: your FlexAI balance is exhausted. Top up to continue.",
            (
                "FlexAI error 402: Insufficient credit: your FlexAI balance is exhausted. "
                f"Top up to continue. {NOT_RETRIED}"
            ),
        ),
        (
            400,
            "tool_choice_not_honored",
            (
                "Model 'gpt-oss-120b' declined the forced tool call (tool_choice=required); it "
                "answers in text only. Use tool_choice 'auto' or another model."
            ),
            (
                "FlexAI error 400 tool_choice_not_honored: Model 'gpt-oss-120b' declined the "
                "forced tool call (tool_choice=required); it answers in text only. Use "
                "tool_choice 'auto' or another model."
            ),
        ),
        (
            400,
            "model_not_multimodal",
            (
                "Model 'gpt-oss-120b' is not a multimodal model; it cannot take image_url parts. "
                "Remove the images or use a model tagged 'vision'."
            ),
            (
                "FlexAI error 400 model_not_multimodal: Model 'gpt-oss-120b' is not a multimodal "
                "model; it cannot take image_url parts. Remove the images or use a model tagged "
                "'vision'."
            ),
        ),
        # FlexAI's message states the fact only: the advice is added, once.
        (
            402,
            "402",
            "Insufficient credits",
            f"FlexAI error 402: Insufficient credits. {CREDIT} {NOT_RETRIED}",
        ),
        (
            400,
            "tool_choice_not_honored",
            "The model declined the forced tool call",
            (
                "FlexAI error 400 tool_choice_not_honored: The model declined the forced tool "
                f"call. {TOOL}"
            ),
        ),
        (
            400,
            None,
            "gemma-text is not a multimodal model",
            f"FlexAI error 400: gemma-text is not a multimodal model. {VISION}",
        ),
    ],
)
def test_one_hint_per_error(status: int, code: str | None, message: str, expected: str) -> None:
    error = _raised(_status_handler(status, message, code), _invoke)
    assert str(error) == expected
    assert str(error).count("top up") + str(error).count("Top up") <= 1


# -- a base_url without /v1 -------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["https://tokens.flex.ai", "https://gw.example/api/"])
def test_404_from_a_base_url_without_v1_says_to_add_it(base_url: str) -> None:
    seen: list[str] = []

    def not_found(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404, json={"detail": "Not Found"})

    error = _raised(not_found, _invoke, base_url=base_url)
    shown = base_url.rstrip("/")
    assert seen == [f"{shown}/chat/completions"]
    assert isinstance(error, openai.NotFoundError)
    assert str(error) == (
        f"FlexAI error 404: Not Found. base_url {shown} ends without /v1; "
        f"FlexAI's API lives under /v1: use {shown}/v1."
    )


def test_404_under_v1_gets_no_base_url_hint() -> None:
    def not_found(_: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    error = _raised(not_found, _invoke, base_url="https://gw.example/v1/")
    assert str(error) == "FlexAI error 404: Not Found."


def test_base_url_hint_masks_credentials() -> None:
    password = secrets.token_hex(8)

    def not_found(_: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Not Found"})

    error = _raised(not_found, _invoke, base_url=f"https://me:{password}@gw.example")
    assert password not in str(error)
    assert "use https://me:***@gw.example/v1." in str(error)


# -- connection failures name the URL ------------------------------------------------------------


def _refused(_: httpx.Request) -> httpx.Response:
    msg = "[Errno 111] Connection refused"
    raise httpx.ConnectError(msg)


def _too_slow(_: httpx.Request) -> httpx.Response:
    msg = "timed out"
    raise httpx.ReadTimeout(msg)


REFUSED = (
    "Cannot reach FlexAI at https://gw.example/v1 (ConnectError: [Errno 111] Connection "
    "refused). Check base_url (or FLEXAI_API_BASE), the network, and any proxy "
    "(openai_proxy, HTTPS_PROXY)."
)
TIMED_OUT = (
    "No answer from FlexAI at https://gw.example/v1 in time (ReadTimeout: timed out). "
    "Raise timeout=..., or check that the server at base_url is up."
)


def _invoke(model: ChatFlexAI) -> object:
    return model.invoke("hi")


def _stream(model: ChatFlexAI) -> object:
    return list(model.stream("hi"))


async def _ainvoke(model: ChatFlexAI) -> object:
    return await model.ainvoke("hi")


async def _astream(model: ChatFlexAI) -> object:
    return [c async for c in model.astream("hi")]


SYNC_PATHS = [_invoke, _stream]
ASYNC_PATHS = [_ainvoke, _astream]


@pytest.mark.parametrize("path", SYNC_PATHS)
@pytest.mark.parametrize(
    ("handler", "cls", "sdk_cls", "expected"),
    [
        (_refused, FlexAIConnectionError, openai.APIConnectionError, REFUSED),
        (_too_slow, FlexAITimeoutError, openai.APITimeoutError, TIMED_OUT),
    ],
)
def test_connection_failures_name_the_url(
    path: Callable[[ChatFlexAI], object],
    handler: Callable[[httpx.Request], httpx.Response],
    cls: type[Exception],
    sdk_cls: type[Exception],
    expected: str,
) -> None:
    error = _raised(handler, path, base_url="https://gw.example/v1")
    assert type(error) is cls
    assert isinstance(error, sdk_cls)
    assert str(error) == expected


@pytest.mark.parametrize("path", ASYNC_PATHS)
async def test_async_connection_failures_name_the_url(path: Callable[..., Any]) -> None:
    error = await _araised(_refused, path, base_url="https://gw.example/v1")
    assert type(error) is FlexAIConnectionError
    assert str(error) == REFUSED
    error = await _araised(_too_slow, path, base_url="https://gw.example/v1")
    assert isinstance(error, openai.APITimeoutError)
    assert str(error) == TIMED_OUT


def test_connection_error_never_shows_url_credentials() -> None:
    password = secrets.token_urlsafe(12)
    error = _raised(_refused, _invoke, base_url=f"https://me:{password}@gw.example/v1")
    assert password not in str(error)
    assert str(error).startswith("Cannot reach FlexAI at https://me:***@gw.example/v1 (")


# -- no key inside any error, pickled or not ------------------------------------------------------


def _status_handler(
    status: int, message: str = "nope", code: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            content=error_body(status, message, type_=None, code=code),
            headers={"content-type": "application/json", "set-cookie": "session=abc"},
        )

    return handler


def _cut_stream(_: httpx.Request) -> httpx.Response:
    def body() -> Iterator[bytes]:
        yield sse(chunk({"role": "assistant", "content": "The answer"}), done=False)
        msg = "peer closed connection without sending complete message body"
        raise httpx.RemoteProtocolError(msg)

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())


ERROR_HANDLERS = {
    "401": (_status_handler(401, "Invalid API key", "invalid_api_key"), openai.AuthenticationError),
    "402": (_status_handler(402, "No credit", "402"), FlexAICreditExhaustedError),
    "400": (_status_handler(400, "bad", "model_not_found"), openai.BadRequestError),
    "500": (_status_handler(500, "boom"), openai.InternalServerError),
    "connect": (_refused, FlexAIConnectionError),
    "timeout": (_too_slow, FlexAITimeoutError),
}


def _requests_in_chain(error: BaseException) -> list[Any]:
    found = []
    current: BaseException | None = error
    while current is not None:
        for holder in (current, getattr(current, "response", None)):
            try:
                request = getattr(holder, "request", None)
            except RuntimeError:  # an httpx error without a request
                continue
            if request is not None:
                found.append(request)
        current = current.__cause__ or current.__context__
    return found


def _assert_key_free(error: BaseException, key: str) -> None:
    assert key not in str(error)
    assert key not in repr(error)
    assert key.encode() not in pickle.dumps(error)
    requests = _requests_in_chain(error)
    for request in requests:
        assert request.headers.get("authorization") in (None, "***")
        assert key not in str(request.headers)
    if isinstance(error, openai.APIError):
        assert error.request.headers["authorization"] == "***"
        assert requests  # the check above looked at something


@pytest.mark.parametrize("kind", sorted(ERROR_HANDLERS))
@pytest.mark.parametrize("path", SYNC_PATHS)
def test_errors_carry_no_key(kind: str, path: Callable[[ChatFlexAI], object]) -> None:
    handler, cls = ERROR_HANDLERS[kind]
    key = "fake-" + secrets.token_hex(16)
    error = _raised(handler, path, api_key=key, default_headers={"x-api-key": key})
    assert isinstance(error, cls)
    _assert_key_free(error, key)


@pytest.mark.parametrize("kind", sorted(ERROR_HANDLERS))
@pytest.mark.parametrize("path", ASYNC_PATHS)
async def test_async_errors_carry_no_key(kind: str, path: Callable[..., Any]) -> None:
    handler, cls = ERROR_HANDLERS[kind]
    key = "fake-" + secrets.token_hex(16)
    error = await _araised(handler, path, api_key=key)
    assert isinstance(error, cls)
    _assert_key_free(error, key)


@pytest.mark.parametrize("path", SYNC_PATHS[1:])
def test_interrupted_stream_carries_no_key(path: Callable[[ChatFlexAI], object]) -> None:
    key = "fake-" + secrets.token_hex(16)
    error = _raised(_cut_stream, path, api_key=key)
    assert isinstance(error, FlexAIStreamInterruptedError)
    _assert_key_free(error, key)
    assert _requests_in_chain(error)  # the httpx error in the chain held the request


async def test_async_interrupted_stream_carries_no_key() -> None:
    key = "fake-" + secrets.token_hex(16)
    error = await _araised(_cut_stream, _astream, api_key=key)
    assert isinstance(error, FlexAIStreamInterruptedError)
    _assert_key_free(error, key)


@pytest.mark.parametrize("kind", ["402", "connect", "timeout"])
def test_own_errors_survive_a_pickle_round_trip(kind: str) -> None:
    handler, cls = ERROR_HANDLERS[kind]
    error = _raised(handler, _invoke)
    revived = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(revived) is cls
    assert str(revived) == str(error)
    assert revived.request.headers["authorization"] == "***"
    assert isinstance(revived, openai.APIError)


# -- helpers --------------------------------------------------------------------------------------


def _model(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> ChatFlexAI:
    async def ahandler(request: httpx.Request) -> httpx.Response:
        response = handler(request)
        if not isinstance(response.stream, httpx.AsyncByteStream):  # a sync-only generator body
            parts = list(_drain(response.stream))
            response = httpx.Response(
                response.status_code, headers=response.headers, content=_agen(parts)
            )
        return response

    kwargs.setdefault("max_retries", 0)
    return ChatFlexAI(
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(ahandler)),
        **kwargs,
    )


def _drain(stream: Any) -> Iterator[bytes | BaseException]:
    try:
        yield from stream
    except httpx.HTTPError as error:
        yield error


async def _agen(parts: list[bytes | BaseException]) -> AsyncIterator[bytes]:
    for part in parts:
        if isinstance(part, BaseException):
            raise part
        yield part


def _raised(
    handler: Callable[[httpx.Request], httpx.Response],
    path: Callable[[ChatFlexAI], object],
    **kwargs: Any,
) -> Exception:
    model = _model(handler, **kwargs)
    with pytest.raises(Exception) as info:
        path(model)
    return info.value


async def _araised(
    handler: Callable[[httpx.Request], httpx.Response],
    path: Callable[[ChatFlexAI], Any],
    **kwargs: Any,
) -> Exception:
    model = _model(handler, **kwargs)
    with pytest.raises(Exception) as info:
        await path(model)
    return info.value


@pytest.mark.parametrize("path", SYNC_PATHS)
def test_any_sdk_error_leaving_the_model_is_scrubbed(
    path: Callable[[ChatFlexAI], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "fake-" + secrets.token_hex(16)
    model = ChatFlexAI(api_key=key, max_retries=0)
    request = httpx.Request(
        "POST", "https://tokens.flex.ai/v1/chat/completions", headers={"authorization": key}
    )

    def invalid(*_: Any, **__: Any) -> Any:
        raise openai.APIResponseValidationError(
            response=httpx.Response(200, request=request), body=None
        )

    monkeypatch.setattr(model.client, "create", invalid)
    error = _raised_from(model, path)
    assert type(error) is openai.APIResponseValidationError
    _assert_key_free(error, key)


def _raised_from(model: ChatFlexAI, path: Callable[[ChatFlexAI], object]) -> Exception:
    with pytest.raises(Exception) as info:
        path(model)
    return info.value


# -- the catalog's errors: one line, no URL credentials ---------------------------------------


def test_catalog_errors_are_one_line_without_url_credentials() -> None:
    password = secrets.token_hex(8)

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="upstream\r\n2026-01-01 INFO forged\x1b[2J\u202e")

    catalog = FlexAICatalog(
        base_url=f"https://me:{password}@gw.example/v1",
        api_key="fake-key",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with pytest.raises(FlexAICatalogError) as info:
        catalog.list_models(refresh=True)
    text = str(info.value)
    assert password not in text
    assert "from https://me:***@gw.example/v1/models: HTTP 500: upstream\\r\\n2026" in text
    assert "forged\\x1b[2J\\u202e" in text
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c == "\u202e" for c in text)
