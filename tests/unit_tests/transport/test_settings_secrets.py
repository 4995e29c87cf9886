"""Credentials in settings never show: proxy and base-URL passwords, key headers and queries.

Each credential is generated per test, and each surface a model is shown or stored through is
checked: repr, str, dumps, dumpd, model_dump (python and json modes), model_dump_json, and the
log records of a request at DEBUG. The real values still reach the wire.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from langchain_core.load import dumpd, dumps

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport._redact import mask_headers, mask_url
from tests.unit_tests.proxies import proxy_pools


def _secret() -> str:
    return "s3cr3t-" + secrets.token_urlsafe(12)


SURFACES: dict[str, Callable[[ChatFlexAI], str]] = {
    "repr": repr,
    "str": str,
    "dumps": dumps,
    "dumpd": lambda m: json.dumps(dumpd(m)),
    "model_dump": lambda m: str(m.model_dump()),
    "model_dump_json_mode": lambda m: str(m.model_dump(mode="json")),
    "model_dump_json": lambda m: m.model_dump_json(),
}


def _settings(secret: str) -> dict[str, dict[str, Any]]:
    return {
        "proxy_password": {"openai_proxy": f"http://me:{secret}@proxy.example.com:3128"},
        "proxy_user_token": {"openai_proxy": f"http://{secret}@proxy.example.com:3128"},
        "base_url_password": {"base_url": f"https://me:{secret}@gw.example.com/v1"},
        "base_url_query": {"base_url": f"https://gw.example.com/v1?api_key={secret}"},
        "authorization_header": {"default_headers": {"Authorization": f"Basic {secret}"}},
        "x_api_key_header": {"default_headers": {"x-api-key": secret, "X-Team": "vision"}},
        "proxy_auth_header": {"default_headers": {"Proxy-Authorization": secret}},
        "cookie_header": {"default_headers": {"Cookie": f"session={secret}"}},
        "token_query": {"default_query": {"token": secret, "region": "eu"}},
    }


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("place", sorted(_settings("x")))
def test_credentials_in_settings_are_masked(surface: str, place: str) -> None:
    secret = _secret()
    model = ChatFlexAI(**_settings(secret)[place])
    shown = SURFACES[surface](model)
    assert secret not in shown
    assert "***" in shown  # the setting is shown, masked: not silently dropped


def test_masked_forms_keep_what_is_not_secret() -> None:
    secret = _secret()
    model = ChatFlexAI(
        openai_proxy=f"http://me:{secret}@proxy.example.com:3128",
        base_url=f"https://gw.example.com/v1?api_key={secret}&region=eu",
        default_headers={"x-api-key": secret, "X-Team": "vision"},
    )
    dumped = model.model_dump()
    assert dumped["openai_proxy"] == "http://me:***@proxy.example.com:3128"
    assert dumped["openai_api_base"] == "https://gw.example.com/v1?api_key=***&region=eu"
    assert dumped["default_headers"] == {"x-api-key": "***", "X-Team": "vision"}
    kwargs = dumpd(model)["kwargs"]
    assert kwargs["openai_proxy"] == "http://me:***@proxy.example.com:3128"
    assert kwargs["default_headers"] == {"x-api-key": "***", "X-Team": "vision"}
    assert "openai_proxy='http://me:***@proxy.example.com:3128'" in repr(model)


def test_masking_is_display_only() -> None:
    secret = _secret()
    model = ChatFlexAI(openai_proxy=f"http://me:{secret}@proxy.example.com:3128")
    assert model.openai_proxy == f"http://me:{secret}@proxy.example.com:3128"
    expected = (b"Proxy-Authorization", b"Basic " + base64.b64encode(f"me:{secret}".encode()))
    for client in (model.http_client, model.http_async_client):
        assert client is not None
        pools = proxy_pools(client)
        assert [p._proxy_url.host for p in pools] == [b"proxy.example.com"]
        # httpx turns the URL's userinfo into the proxy's Basic credentials: the real password.
        assert [p._proxy_headers for p in pools] == [[expected]]


def test_request_logs_mask_url_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret, query_secret, header_secret = _secret(), _secret(), _secret()
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "phi-4-multimodal-instruct",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "ok"},
                        "finish_reason": "stop",
                    }
                ],
            },
        )

    model = ChatFlexAI(
        base_url=f"https://me:{secret}@gw.example.com/v1",
        default_query={"token": query_secret},
        default_headers={"x-api-key": header_secret},
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )
    model.invoke("hi")
    assert "HTTP Request: POST https://me:***@gw.example.com/v1/chat/completions" in caplog.text
    for value in (secret, query_secret, header_secret):
        assert value not in caplog.text
    # The wire still carries the real values.
    assert sent[-1].url.params["token"] == query_secret
    assert sent[-1].headers["x-api-key"] == header_secret


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://user:pw@host:1/x", "http://user:***@host:1/x"),
        ("http://tok@host", "http://***@host"),
        ("https://h/v1?key=1&a=2", "https://h/v1?key=***&a=2"),
        ("https://h/v1?X-Amz-Signature=ab&sig=cd", "https://h/v1?X-Amz-Signature=***&sig=***"),
        ("https://tokens.flex.ai/v1", "https://tokens.flex.ai/v1"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, expected: str) -> None:
    assert mask_url(url) == expected


def test_mask_headers() -> None:
    headers = {
        "Authorization": "a",
        "proxy-authorization": "b",
        "X-Api-Key": "c",
        "api-key": "d",
        "X-Auth-Token": "e",
        "Cookie": "f",
        "User-Agent": "g",
        "Accept": "h",
    }
    assert mask_headers(headers) == {
        "Authorization": "***",
        "proxy-authorization": "***",
        "X-Api-Key": "***",
        "api-key": "***",
        "X-Auth-Token": "***",
        "Cookie": "***",
        "User-Agent": "g",
        "Accept": "h",
    }
