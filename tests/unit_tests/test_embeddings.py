"""FlexAIEmbeddings without sockets: the exact wire JSON, batching, errors, secrets, text only.

Every request goes through `httpx.MockTransport`; the handler records each body and answers as
FlexAI's ``/v1/embeddings`` would (one vector per input, in OpenAI's shape).
"""

from __future__ import annotations

import json
import logging
import pickle
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from langchain_core.load import dumps

from langchain_flexai import FlexAIConfigError, FlexAICreditExhaustedError, FlexAIEmbeddings
from langchain_flexai._version import __version__
from langchain_flexai.embeddings import DEFAULT_BATCH_SIZE
from langchain_flexai.errors import FlexAIConnectionError, FlexAITimeoutError, ModelCapabilityError
from tests.unit_tests.conftest import FAKE_KEY
from tests.unit_tests.proxies import proxy_pools
from tests.unit_tests.wire import error_body

Handler = Callable[[httpx.Request], httpx.Response]


def _vector(text: str) -> list[float]:
    # A stand-in vector that tells texts apart: its first value is the text's length.
    return [float(len(text)), 0.5, -0.25]


def embeddings_response(texts: list[str], *, order: list[int] | None = None) -> dict[str, Any]:
    indices = order if order is not None else list(range(len(texts)))
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _vector(texts[i])} for i in indices
        ],
        "model": "bge-m3",
        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
    }


class Server:
    """Records requests; answers each with the vectors of its inputs (or what was queued)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[dict[str, Any]] = []
        self.queue: list[Handler] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.read())
        self.bodies.append(body)
        if self.queue:
            return self.queue.pop(0)(request)
        return httpx.Response(200, json=embeddings_response(body["input"]))

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        return self.handle(request)

    def embeddings(self, **kwargs: Any) -> FlexAIEmbeddings:
        kwargs.setdefault("max_retries", 0)
        return FlexAIEmbeddings(
            http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
            http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(self.ahandle)),
            **kwargs,
        )


@pytest.fixture
def server() -> Server:
    return Server()


def _status(status: int, message: str, code: str | None, **headers: str) -> Handler:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            content=error_body(status, message, type_=None, code=code),
            headers={"content-type": "application/json", **headers},
        )

    return handler


# -- the wire -------------------------------------------------------------------------------------


def test_one_text_is_one_request_with_the_exact_body(server: Server) -> None:
    vector = server.embeddings().embed_query("a red bicycle")
    assert vector == _vector("a red bicycle")
    assert server.bodies == [
        {"input": ["a red bicycle"], "model": "bge-m3", "encoding_format": "float"}
    ]
    request = server.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://tokens.flex.ai/v1/embeddings")
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"


@pytest.mark.parametrize(("count", "chunk_size"), [(5, 2), (70, None), (32, None), (1, 1)])
def test_texts_go_in_batches_of_chunk_size_in_order(
    server: Server, count: int, chunk_size: int | None
) -> None:
    texts = [f"text number {i} " + "x" * i for i in range(count)]
    size = chunk_size or DEFAULT_BATCH_SIZE
    options = {"chunk_size": chunk_size} if chunk_size else {}
    vectors = server.embeddings(**options).embed_documents(texts)
    assert vectors == [_vector(t) for t in texts]
    expected = [texts[i : i + size] for i in range(0, count, size)]
    assert [b["input"] for b in server.bodies] == expected
    assert {b["encoding_format"] for b in server.bodies} == {"float"}
    assert {b["model"] for b in server.bodies} == {"bge-m3"}


async def test_async_sends_the_same_batches(server: Server) -> None:
    texts = [f"t{i}" for i in range(5)]
    embeddings = server.embeddings(chunk_size=2, model="my-embedder")
    assert await embeddings.aembed_documents(texts) == [_vector(t) for t in texts]
    assert await embeddings.aembed_query("q") == _vector("q")
    assert server.bodies == [
        {"input": ["t0", "t1"], "model": "my-embedder", "encoding_format": "float"},
        {"input": ["t2", "t3"], "model": "my-embedder", "encoding_format": "float"},
        {"input": ["t4"], "model": "my-embedder", "encoding_format": "float"},
        {"input": ["q"], "model": "my-embedder", "encoding_format": "float"},
    ]


def test_vectors_follow_the_index_not_the_answer_order(server: Server) -> None:
    texts = ["a", "bb", "ccc"]
    server.queue.append(
        lambda _: httpx.Response(200, json=embeddings_response(texts, order=[2, 0, 1]))
    )
    assert server.embeddings().embed_documents(texts) == [_vector(t) for t in texts]


def test_a_short_answer_is_an_error_not_a_shifted_list(server: Server) -> None:
    texts = ["a", "bb", "ccc"]
    server.queue.append(lambda _: httpx.Response(200, json=embeddings_response(texts[:2])))
    with pytest.raises(RuntimeError, match="FlexAI returned 2 embeddings for 3 texts"):
        server.embeddings().embed_documents(texts)


def test_no_texts_no_request(server: Server) -> None:
    assert server.embeddings().embed_documents([]) == []
    assert server.requests == []


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (b"\x89PNG\r\n", "bytes"),
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, "dict"),
        (None, "NoneType"),
        ([1, 2, 3], "list"),
    ],
)
def test_text_only_refused_before_sending(server: Server, item: object, kind: str) -> None:
    with pytest.raises(ModelCapabilityError) as info:
        server.embeddings().embed_documents(["fine", item])  # type: ignore[list-item]
    assert str(info.value).startswith(f"FlexAIEmbeddings embeds text only: texts[1] is {kind}.")
    assert "FlexAI has no image embeddings" in str(info.value)
    assert server.requests == []


def test_one_string_to_embed_documents_is_refused(server: Server) -> None:
    with pytest.raises(TypeError, match=r"use embed_query\(text\)"):
        server.embeddings().embed_documents("one string")  # type: ignore[arg-type]
    assert server.requests == []


# -- configuration: the same variables as ChatFlexAI ---------------------------------------------


def test_key_and_base_url_come_from_flexai_variables(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEXAI_API_KEY", "flexai-key")
    monkeypatch.setenv("FLEXAI_API_BASE", "https://gw.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key")
    monkeypatch.setenv("OPENAI_API_BASE", "https://openai.example.com/v1")
    server.embeddings().embed_query("x")
    request = server.requests[0]
    assert str(request.url) == "https://gw.example.com/v1/embeddings"
    assert request.headers["authorization"] == "Bearer flexai-key"


def test_no_key_is_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXAI_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key")  # never used for FlexAI
    with pytest.raises(FlexAIConfigError) as info:
        FlexAIEmbeddings()
    assert str(info.value).startswith("No FlexAI API key: set the FLEXAI_API_KEY")
    assert "\n" not in str(info.value)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        FlexAIEmbeddings(chunk_size=0)
    with pytest.raises(ValueError, match="openai_proxy or http_client"):
        FlexAIEmbeddings(openai_proxy="http://proxy:3128", http_client=httpx.Client())
    with pytest.raises(ValueError, match="Extra inputs"):
        FlexAIEmbeddings(dimensions=256)  # bge-m3's vectors have one size


# -- errors: FlexAI's, mapped as for ChatFlexAI, and retried the same way -------------------------


def _refused(_: httpx.Request) -> httpx.Response:
    msg = "[Errno 111] Connection refused"
    raise httpx.ConnectError(msg)


def _too_slow(_: httpx.Request) -> httpx.Response:
    msg = "timed out"
    raise httpx.ReadTimeout(msg)


ERRORS: dict[str, tuple[Handler, type[Exception], str]] = {
    "400": (
        _status(400, "The model 'bge-m4' does not exist", "model_not_found"),
        openai.BadRequestError,
        "FlexAI error 400 model_not_found: The model 'bge-m4' does not exist. Pass a model id",
    ),
    "401": (
        _status(401, "Invalid API key", "invalid_api_key"),
        openai.AuthenticationError,
        "FlexAI error 401 invalid_api_key: Invalid API key. Check the FLEXAI_API_KEY",
    ),
    "402": (
        _status(402, "No credit", "402"),
        FlexAICreditExhaustedError,
        "FlexAI error 402: No credit. Your FlexAI credit is exhausted",
    ),
    "500": (_status(500, "boom", None), openai.InternalServerError, "FlexAI error 500: boom."),
    "connect": (
        _refused,
        FlexAIConnectionError,
        "Cannot reach FlexAI at https://tokens.flex.ai/v1 (ConnectError: [Errno 111]",
    ),
    "timeout": (_too_slow, FlexAITimeoutError, "No answer from FlexAI at https://tokens.flex.ai"),
}


def _assert_key_free(error: BaseException, key: str) -> None:
    assert key not in str(error)
    assert key not in repr(error)
    assert key.encode() not in pickle.dumps(error)
    if isinstance(error, openai.APIError):
        assert error.request.headers["authorization"] == "***"


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_errors_are_flexais_and_carry_no_key(server: Server, kind: str) -> None:
    handler, cls, start = ERRORS[kind]
    key = "fake-" + secrets.token_hex(16)
    server.queue.append(handler)
    with pytest.raises(cls) as info:
        server.embeddings(api_key=key, default_headers={"x-api-key": key}).embed_query("x")
    assert str(info.value).startswith(start)
    _assert_key_free(info.value, key)
    if kind in {"402", "connect", "timeout"}:  # this package's own classes survive a round trip
        revived = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own bytes
        assert type(revived) is cls
        assert str(revived) == str(info.value)
        assert revived.request.headers["authorization"] == "***"


@pytest.mark.parametrize("kind", sorted(ERRORS))
async def test_async_errors_are_the_same(server: Server, kind: str) -> None:
    handler, cls, start = ERRORS[kind]
    key = "fake-" + secrets.token_hex(16)
    server.queue.append(handler)
    with pytest.raises(cls) as info:
        await server.embeddings(api_key=key).aembed_documents(["x"])
    assert str(info.value).startswith(start)
    _assert_key_free(info.value, key)


def test_429_and_5xx_are_retried_honouring_retry_after(server: Server) -> None:
    server.queue += [
        _status(429, "Rate limit exceeded", "rate_limit_exceeded", **{"retry-after": "0.01"}),
        _status(503, "under maintenance", None, **{"retry-after": "0.01"}),
    ]
    embeddings = FlexAIEmbeddings(
        http_client=httpx.Client(transport=httpx.MockTransport(server.handle))
    )
    assert embeddings.max_retries == 3  # as ChatFlexAI
    assert embeddings.embed_query("x") == _vector("x")
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 402])
def test_client_errors_are_never_retried(server: Server, status: int) -> None:
    server.queue.append(_status(status, "no", None))
    embeddings = server.embeddings(max_retries=3)
    with pytest.raises(openai.APIStatusError):
        embeddings.embed_query("x")
    assert len(server.requests) == 1


# -- secrets in settings --------------------------------------------------------------------------

SURFACES: dict[str, Callable[[FlexAIEmbeddings], str]] = {
    "repr": repr,
    "str": str,
    "dumps": dumps,
    "model_dump": lambda e: str(e.model_dump()),
    "model_dump_json_mode": lambda e: str(e.model_dump(mode="json")),
    "model_dump_json": lambda e: e.model_dump_json(),
}


def _settings(secret: str) -> dict[str, dict[str, Any]]:
    return {
        "api_key": {"api_key": secret},
        "proxy_password": {"openai_proxy": f"http://me:{secret}@proxy.example.com:3128"},
        "base_url_password": {"base_url": f"https://me:{secret}@gw.example.com/v1"},
        "base_url_query": {"base_url": f"https://gw.example.com/v1?api_key={secret}"},
        "x_api_key_header": {"default_headers": {"x-api-key": secret, "X-Team": "vision"}},
        "token_query": {"default_query": {"token": secret, "region": "eu"}},
    }


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("place", sorted(_settings("x")))
def test_credentials_never_show(surface: str, place: str) -> None:
    secret = "s3cr3t-" + secrets.token_urlsafe(12)
    shown = SURFACES[surface](FlexAIEmbeddings(**_settings(secret)[place]))
    assert secret not in shown
    assert "***" in shown  # shown masked, not silently dropped


def test_request_logs_mask_credentials(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret, key = "s3cr3t-" + secrets.token_urlsafe(12), "fake-" + secrets.token_hex(16)
    server.embeddings(api_key=key, base_url=f"https://me:{secret}@gw.example.com/v1").embed_query(
        "x"
    )
    assert "HTTP Request: POST https://me:***@gw.example.com/v1/embeddings" in caplog.text
    assert secret not in caplog.text
    assert key not in caplog.text


async def test_default_headers_and_query_reach_the_wire(server: Server) -> None:
    embeddings = server.embeddings(default_headers={"X-Team": "vision"}, default_query={"r": "eu"})
    embeddings.embed_query("x")
    await embeddings.aembed_query("x")
    assert [r.headers["x-team"] for r in server.requests] == ["vision", "vision"]
    assert [r.url.params["r"] for r in server.requests] == ["eu", "eu"]


async def test_an_async_key_works_async_and_says_so_sync(server: Server) -> None:
    async def key() -> str:
        return "async-key"

    embeddings = server.embeddings(api_key=key)
    assert await embeddings.aembed_query("x") == _vector("x")
    assert server.requests[0].headers["authorization"] == "Bearer async-key"
    with pytest.raises(ValueError, match="async-only api_key: use aembed_documents"):
        embeddings.embed_query("x")


def test_an_explicit_proxy_gets_clients_of_its_own() -> None:
    embeddings = FlexAIEmbeddings(openai_proxy="http://me:pw@proxy.example.com:3128")
    for client in (embeddings.http_client, embeddings.http_async_client):
        assert client is not None
        pools = proxy_pools(client)
        assert [p._proxy_url.host for p in pools] == [b"proxy.example.com"]


async def test_the_user_agent_names_the_package_after_the_sdk(server: Server) -> None:
    embeddings = server.embeddings()
    embeddings.embed_query("x")
    await embeddings.aembed_query("x")
    sync_agent, async_agent = (r.headers["user-agent"] for r in server.requests)
    assert sync_agent == f"OpenAI/Python {openai.__version__} langchain-flexai/{__version__}"
    assert async_agent == f"AsyncOpenAI/Python {openai.__version__} langchain-flexai/{__version__}"


def test_a_user_agent_of_ones_own_is_kept(server: Server) -> None:
    embeddings = server.embeddings(default_headers={"User-Agent": "my-app/1"})
    embeddings.embed_query("x")
    assert server.requests[0].headers["user-agent"] == "my-app/1"
    assert embeddings.default_headers == {"User-Agent": "my-app/1"}
