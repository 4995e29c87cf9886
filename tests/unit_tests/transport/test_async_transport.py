"""Which pool async requests use: httpx's by default, aiohttp's on FLEXAI_ASYNC_TRANSPORT=aiohttp.

Also how aiohttp's exceptions become httpx's (so the SDK raises the same classes as over httpx).
No sockets: the clients are built, not used (the emulator tests use them).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import aiohttp
import openai
import pytest

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport._aiohttp import AiohttpPool, _as_httpx
from langchain_flexai._transport._pools import sdk_httpx
from langchain_flexai.errors import FlexAIConfigError

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def _factory(model: ChatFlexAI) -> object:
    return model.root_async_client._client._transport._pool_factory


def _model(**kwargs: object) -> ChatFlexAI:
    return ChatFlexAI(api_key="fake-key", base_url="http://127.0.0.1:9/v1", **kwargs)


@pytest.mark.parametrize("value", [None, "", "httpx", " HTTPX "])
def test_httpx_unless_asked(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("FLEXAI_ASYNC_TRANSPORT", raising=False)
    else:
        monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", value)
    assert _factory(_model()).__name__ == "_httpcore_pool"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["aiohttp", "AIOHTTP", " aiohttp"])
def test_aiohttp_when_asked(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", value)
    first, second = _model(), _model(temperature=0)
    assert _factory(first) is AiohttpPool
    # Shared per setting, as the httpx client is, and never the httpx model's client.
    assert first.root_async_client._client is second.root_async_client._client
    monkeypatch.delenv("FLEXAI_ASYNC_TRANSPORT")
    assert _model().root_async_client._client is not first.root_async_client._client


def test_sync_requests_stay_on_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "aiohttp")
    transport = _model().root_client._client._transport
    assert isinstance(transport, sdk_httpx.HTTPTransport)


def _is_httpx_proxy_pool(model: ChatFlexAI) -> bool:
    transport = model.root_async_client._client._transport
    pool = transport._pool_factory(transport._socket_options)
    return isinstance(pool, sdk_httpx.AsyncHTTPTransport) and pool._pool._proxy_url.port == 3128


def test_an_explicit_proxy_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "aiohttp")
    model = _model(openai_proxy="http://127.0.0.1:3128")
    assert _is_httpx_proxy_pool(model)
    assert model.root_async_client._client is model.http_async_client


@pytest.mark.parametrize(
    ("name", "base_url"),
    [
        ("HTTPS_PROXY", "https://tokens.flex.ai/v1"),
        ("http_proxy", "http://127.0.0.1:9/v1"),
        ("ALL_PROXY", "http://127.0.0.1:9/v1"),
    ],
)
def test_an_environment_proxy_keeps_httpx(
    monkeypatch: pytest.MonkeyPatch, name: str, base_url: str
) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "aiohttp")
    monkeypatch.setenv(name, "http://127.0.0.1:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _is_httpx_proxy_pool(ChatFlexAI(api_key="fake-key", base_url=base_url))


def test_an_unknown_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "curl")
    with pytest.raises(FlexAIConfigError) as info:
        _model()
    assert str(info.value) == (
        "FLEXAI_ASYNC_TRANSPORT='curl' is neither 'httpx' nor 'aiohttp' (unset: httpx)."
    )


def test_without_aiohttp_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEXAI_ASYNC_TRANSPORT", "aiohttp")
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # what an absent package looks like
    monkeypatch.delitem(sys.modules, "langchain_flexai._transport._aiohttp")
    with pytest.raises(ImportError) as info:
        _model()
    assert str(info.value) == (
        "FLEXAI_ASYNC_TRANSPORT=aiohttp needs aiohttp: "
        'pip install "langchain-flexai[aiohttp]" (or unset FLEXAI_ASYNC_TRANSPORT).'
    )
    monkeypatch.delenv("FLEXAI_ASYNC_TRANSPORT")
    assert _factory(_model()).__name__ == "_httpcore_pool"  # type: ignore[attr-defined]


# -- aiohttp's exceptions, as httpx's ------------------------------------------------------------

_KEY = SimpleNamespace(host="127.0.0.1", port=9, ssl=False)
_REQUEST = sdk_httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            aiohttp.ClientConnectorError(_KEY, ConnectionRefusedError(111, "Connection refused")),  # type: ignore[arg-type]
            sdk_httpx.ConnectError,
        ),
        (aiohttp.ConnectionTimeoutError("Connection timeout"), sdk_httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("Timeout on reading data"), sdk_httpx.ReadTimeout),
        (TimeoutError(), sdk_httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), sdk_httpx.RemoteProtocolError),
        (
            aiohttp.ClientPayloadError("Response payload is not completed"),
            sdk_httpx.RemoteProtocolError,
        ),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), sdk_httpx.ReadError),
        (aiohttp.InvalidURL("ftp://x"), sdk_httpx.UnsupportedProtocol),
    ],
)
def test_aiohttp_errors_become_the_httpx_ones(error: Exception, expected: type[Exception]) -> None:
    mapped = _as_httpx(error, _REQUEST)
    assert type(mapped) is expected
    assert mapped.__cause__ is error
    assert mapped.request is _REQUEST  # type: ignore[attr-defined]


def test_timeouts_stay_timeouts_and_refusals_do_not() -> None:
    # The SDK turns httpx.TimeoutException into APITimeoutError, any other error into
    # APIConnectionError: the vendored adapter's map made a refusal a ConnectTimeout.
    refused = aiohttp.ClientConnectorError(_KEY, ConnectionRefusedError(111, "refused"))  # type: ignore[arg-type]
    assert not isinstance(_as_httpx(refused, _REQUEST), sdk_httpx.TimeoutException)
    for timeout in (aiohttp.ConnectionTimeoutError(), aiohttp.SocketTimeoutError()):
        assert isinstance(_as_httpx(timeout, _REQUEST), sdk_httpx.TimeoutException)
    assert issubclass(openai.APITimeoutError, openai.APIConnectionError)


def test_other_exceptions_pass_through() -> None:
    error = RuntimeError("not a transport error")
    assert _as_httpx(error, _REQUEST) is error
