"""Errors over a real socket with the real SDK pools: the URL tried, one hint, no key inside.

A closed loopback port stands in for a server that is down; the emulator answers FlexAI's 402 and
a 404 for a base URL without /v1. Sync, async and streaming paths each; the async ones over
both async pools where the transport decides the error (httpx's default, aiohttp's opt-in).
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import secrets
from collections.abc import Callable
from typing import Any

import openai
import pytest

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport._errors import (
    FlexAIConnectionError,
    FlexAICreditExhaustedError,
    FlexAITimeoutError,
)
from langchain_flexai.testing import FlexAIEmulator


@pytest.fixture(scope="module")
def closed_base_url() -> str:
    """A loopback base URL nothing listens on (an emulator's, after it stopped)."""
    with FlexAIEmulator() as emulator:
        return emulator.base_url


def _invoke(model: ChatFlexAI) -> object:
    return model.invoke("hi")


def _stream(model: ChatFlexAI) -> object:
    return list(model.stream("hi"))


def _ainvoke(model: ChatFlexAI) -> object:
    return asyncio.run(model.ainvoke("hi"))


def _astream(model: ChatFlexAI) -> object:
    async def go() -> list[Any]:
        return [c async for c in model.astream("hi")]

    return asyncio.run(go())


PATHS = [_invoke, _stream, _ainvoke, _astream]
ASYNC_PATHS = [_ainvoke, _astream]
TRANSPORTS = ["httpx", "aiohttp"]


def _use(monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", transport)  # read when the model is built


def _assert_key_free(error: BaseException, key: str) -> None:
    assert key not in str(error)
    assert key.encode() not in pickle.dumps(error)
    assert isinstance(error, openai.APIError)
    assert error.request.headers["authorization"] == "***"


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("path", PATHS)
def test_connection_refused_names_the_url(
    closed_base_url: str,
    path: Callable[[ChatFlexAI], object],
    transport: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, transport)
    key = "fake-" + secrets.token_hex(16)
    model = ChatFlexAI(base_url=closed_base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.APIConnectionError) as info:
        path(model)
    error = info.value
    assert type(error) is FlexAIConnectionError
    assert str(error).startswith(
        f"Cannot reach FlexAI at {closed_base_url} (ConnectionRefusedError: [Errno 111] "
    )
    assert str(error).endswith(
        "Check base_url (or FLEXAI_API_BASE), the network, and any proxy "
        "(openai_proxy, HTTPS_PROXY)."
    )
    _assert_key_free(error, key)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("path", ASYNC_PATHS)
def test_no_answer_in_time_is_a_timeout_naming_the_url(
    path: Callable[[ChatFlexAI], object], transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, transport)
    with FlexAIEmulator(latency=1.5) as emulator:
        model = emulator.chat_model(max_retries=0, timeout=0.2)
        base_url, key = emulator.base_url, emulator.api_key
        with pytest.raises(openai.APITimeoutError) as info:
            path(model)
    error = info.value
    assert type(error) is FlexAITimeoutError
    # The cause in parentheses is the transport's own (httpcore: anyio's cancelled deadline;
    # aiohttp: "SocketTimeoutError: Timeout on reading data from socket").
    assert str(error).startswith(f"No answer from FlexAI at {base_url} in time (")
    assert str(error).endswith("). Raise timeout=..., or check that the server at base_url is up.")
    _assert_key_free(error, key)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("path", PATHS)
def test_credit_error_has_one_hint_and_no_key(
    path: Callable[[ChatFlexAI], object], transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, transport)
    key = "fake-" + secrets.token_hex(16)
    with FlexAIEmulator(api_key=key, credit_budget=0.0) as emulator:
        model = emulator.chat_model(max_retries=0)
        with pytest.raises(FlexAICreditExhaustedError) as info:
            path(model)
    assert str(info.value) == (
        "FlexAI error 402: Insufficient credit: your FlexAI balance is exhausted. "
        "Top up to continue. This request was not retried."
    )
    _assert_key_free(info.value, key)


@pytest.mark.parametrize("path", PATHS)
def test_base_url_without_v1_gets_the_fix(
    flexai_emulator: FlexAIEmulator, path: Callable[[ChatFlexAI], object]
) -> None:
    model = flexai_emulator.chat_model(base_url=flexai_emulator.url, max_retries=0)
    with pytest.raises(openai.NotFoundError) as info:
        path(model)
    url = flexai_emulator.url
    assert str(info.value) == (
        "FlexAI error 404 not_found: POST /chat/completions is not part of the FlexAI API. "
        f"base_url {url} ends without /v1; FlexAI's API lives under /v1: use {url}/v1."
    )
    _assert_key_free(info.value, flexai_emulator.api_key)


def test_sdk_request_logs_mask_base_url_credentials(
    flexai_emulator: FlexAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password, token = secrets.token_hex(8), secrets.token_hex(8)
    host = flexai_emulator.base_url.removeprefix("http://")
    model = flexai_emulator.chat_model(
        base_url=f"http://me:{password}@{host}", default_query={"token": token}, max_retries=0
    )
    # httpx sends URL userinfo as Basic auth, which replaces the bearer key: FlexAI says 401.
    with pytest.raises(openai.AuthenticationError) as info:
        model.invoke("hi")
    assert f"HTTP Request: POST http://me:***@{host}/chat/completions?token=***" in caplog.text
    for value in (password, token):
        assert value not in caplog.text
        assert value not in str(info.value)
        assert value.encode() not in pickle.dumps(info.value)
