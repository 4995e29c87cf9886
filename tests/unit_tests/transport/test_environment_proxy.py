"""A proxy named in the environment carries ChatFlexAI's and the embeddings' requests.

httpx reads HTTP(S)_PROXY / ALL_PROXY / NO_PROXY only for transports it builds itself; the shared
pools are ours, so the clients are built for the proxy the environment names for the base URL.
No sockets: the clients are built and inspected (the emulator test sends through a proxy).
"""

from __future__ import annotations

import httpx
import pytest
from langchain_core.load import dumps

from langchain_flexai import ChatFlexAI, FlexAIEmbeddings
from langchain_flexai._transport._clients import environment_proxy
from tests.unit_tests.proxies import proxy_pools

_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
SECRET = "s3cret-proxy-password"
HTTPS_BASE = "https://tokens.flex.ai/v1"
HTTP_BASE = "http://10.0.0.5:8000/v1"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _proxy_of(client: object) -> tuple[bytes, int | None] | None:
    pools = proxy_pools(client)
    urls = [(p._proxy_url.host, p._proxy_url.port) for p in pools]
    assert len(urls) <= 1
    return urls[0] if urls else None


@pytest.mark.parametrize(
    ("environment", "base_url", "expected"),
    [
        ({"HTTPS_PROXY": f"http://user:{SECRET}@corp.proxy:3128"}, HTTPS_BASE, b"corp.proxy"),
        ({"https_proxy": "http://lower.proxy:3128"}, HTTPS_BASE, b"lower.proxy"),
        ({"ALL_PROXY": "http://all.proxy:3128"}, HTTPS_BASE, b"all.proxy"),
        ({"HTTP_PROXY": "http://plain.proxy:3128"}, HTTP_BASE, b"plain.proxy"),
        ({"HTTP_PROXY": "http://plain.proxy:3128"}, HTTPS_BASE, None),  # not https's variable
        ({"HTTPS_PROXY": "http://corp.proxy:3128", "NO_PROXY": "tokens.flex.ai"}, HTTPS_BASE, None),
        ({"HTTPS_PROXY": "http://corp.proxy:3128", "no_proxy": ".flex.ai"}, HTTPS_BASE, None),
        ({}, HTTPS_BASE, None),
    ],
)
def test_the_environment_proxy_for_the_base_url_carries_every_client(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    base_url: str,
    expected: bytes | None,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    chat = ChatFlexAI(api_key="k", base_url=base_url)
    embeddings = FlexAIEmbeddings(api_key="k", base_url=base_url)
    sdk_clients = [
        chat.root_client._client,
        chat.root_async_client._client,
        embeddings.client._client._client,
        embeddings.async_client._client._client,
    ]
    if expected is None:
        assert environment_proxy(base_url) is None
        assert chat.http_client is None
        assert chat.http_async_client is None
        assert [_proxy_of(client) for client in sdk_clients] == [None] * 4
        # The shared pools, as without any variable.
        assert (
            chat.root_client._client
            is ChatFlexAI(api_key="k", base_url=base_url).root_client._client
        )
    else:
        assert [_proxy_of(client) for client in sdk_clients] == [(expected, 3128)] * 4
        for client in sdk_clients:
            assert client.follow_redirects is False  # as through openai_proxy
    # The proxy's credentials never reach what is printed or serialized.
    for text in (repr(chat), chat.model_dump_json(), dumps(chat), repr(embeddings)):
        assert SECRET not in text


def test_a_client_of_ones_own_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://corp.proxy:3128")
    mine = httpx.Client()
    model = ChatFlexAI(api_key="k", http_client=mine)
    assert model.root_client._client is mine
    assert model.http_async_client is None


def test_openai_proxy_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://corp.proxy:3128")
    model = ChatFlexAI(api_key="k", openai_proxy="http://chosen.proxy:8080")
    assert _proxy_of(model.root_async_client._client) == (b"chosen.proxy", 8080)
