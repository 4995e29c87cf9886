"""Request URLs parsed once per client: the same URL as the SDK's and httpx's own joins, reused.

No sockets: the joins are called directly, and one request goes through a mock transport.
"""

from __future__ import annotations

import itertools

import openai
import pytest

from langchain_flexai._transport._body import AsyncFlexAIOpenAI, FlexAIOpenAI
from langchain_flexai._transport._pools import sdk_httpx
from langchain_flexai._transport._url_once import KEPT, AsyncHttpxClient, HttpxClient

BASES = [
    "https://tokens.flex.ai/v1",
    "https://api.flex.ai/v1/",
    "http://127.0.0.1:8123/v1",
    "http://[::1]:9000/gateway/v1/",
    "https://bücher.example/v1",  # an IDNA host
    "https://user:p%40ss@proxy.example/a%20b/v1",
]
PATHS = ["/chat/completions", "chat/completions", "/models/org%2Fname", "/models?limit=5", "/"]


@pytest.mark.parametrize(("base", "path"), list(itertools.product(BASES, PATHS)))
@pytest.mark.parametrize("ours", [FlexAIOpenAI, AsyncFlexAIOpenAI])
def test_the_sdk_join_is_made_once_and_equals_the_sdks(
    base: str, path: str, ours: type[openai.OpenAI | openai.AsyncOpenAI]
) -> None:
    client = ours(api_key="k", base_url=base)
    stock = openai.OpenAI(api_key="k", base_url=base)
    first = client._prepare_url(path)
    assert first == stock._prepare_url(path)
    assert str(first) == str(stock._prepare_url(path))
    assert client._prepare_url(path) is first


def test_a_new_base_url_is_joined_again() -> None:
    client = AsyncFlexAIOpenAI(api_key="k", base_url="https://a.example/v1")
    assert str(client._prepare_url("/chat/completions")) == "https://a.example/v1/chat/completions"
    client.base_url = "https://b.example/other/v1"  # type: ignore[assignment]
    assert (
        str(client._prepare_url("/chat/completions"))
        == "https://b.example/other/v1/chat/completions"
    )
    assert client.with_options(max_retries=0)._prepare_url("/models").host == "b.example"


@pytest.mark.parametrize("ours", [HttpxClient, AsyncHttpxClient])
def test_httpx_parses_each_absolute_url_once(ours: type) -> None:
    client = ours(base_url="https://base.example/root/")
    stock = sdk_httpx.Client(base_url="https://base.example/root/")
    for url in ["https://tokens.flex.ai/v1/chat/completions", "http://[::1]:9/x?y=1#z"]:
        first = client._merge_url(url)
        assert first == stock._merge_url(url)
        assert client._merge_url(url) is first
    # A relative URL depends on the client's base URL: joined every time, never kept.
    assert client._merge_url("rel") == stock._merge_url("rel")
    client.base_url = "https://moved.example/"
    assert str(client._merge_url("rel")) == "https://moved.example/rel"
    url_object = sdk_httpx.URL("https://tokens.flex.ai/v1/models")
    assert client._merge_url(url_object) == url_object


def test_at_most_kept_urls_per_client() -> None:
    client = AsyncFlexAIOpenAI(api_key="k", base_url="https://tokens.flex.ai/v1")
    httpx_client = AsyncHttpxClient()
    for n in range(KEPT * 3):
        assert str(client._prepare_url(f"/models/m{n}")) == f"https://tokens.flex.ai/v1/models/m{n}"
        assert str(httpx_client._merge_url(f"https://h.example/{n}")) == f"https://h.example/{n}"
    assert len(client._joined_urls) == KEPT
    assert len(httpx_client._parsed_urls) == KEPT


def test_the_request_sent_has_the_sdks_url_every_time() -> None:
    seen: list[str] = []

    def answer(request: sdk_httpx.Request) -> sdk_httpx.Response:
        seen.append(str(request.url))
        return sdk_httpx.Response(200, json={"object": "list", "data": []})

    client = FlexAIOpenAI(
        api_key="k",
        base_url="https://tokens.flex.ai/v1",
        http_client=HttpxClient(transport=sdk_httpx.MockTransport(answer)),
    )
    for _ in range(3):
        client.models.list()
    assert seen == ["https://tokens.flex.ai/v1/models"] * 3
