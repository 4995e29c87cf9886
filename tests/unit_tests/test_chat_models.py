"""ChatFlexAI's own behaviour: defaults, identity, secrets, reasoning, errors, streams."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, HumanMessage
from PIL import Image

from langchain_flexai import ChatFlexAI, __version__, chat_models, clear_image_cache
from langchain_flexai._transport._errors import (
    FlexAICreditExhaustedError,
    FlexAIStreamInterruptedError,
)
from tests.unit_tests.conftest import FAKE_KEY
from tests.unit_tests.proxies import proxy_pools
from tests.unit_tests.wire import WireRecorder, chunk, completion, error_body, sse

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


# -- defaults and construction ------------------------------------------------------------------


def test_defaults_send_to_flexai_with_default_model(wire: WireRecorder) -> None:
    wire.model().invoke("hi")
    sent = wire.requests[-1]
    assert sent.url == "https://tokens.flex.ai/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert wire.last == {
        "model": "phi-4-multimodal-instruct",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }


def test_env_base_url_and_arguments(monkeypatch: pytest.MonkeyPatch, wire: WireRecorder) -> None:
    monkeypatch.setenv("FLEXAI_API_BASE", "https://gateway.example.com/v1")
    wire.model().invoke("hi")
    assert wire.requests[-1].url == "https://gateway.example.com/v1/chat/completions"
    wire.model(base_url="https://other.example.com/v1", api_key="fake-arg-key").invoke("hi")
    assert wire.requests[-1].url == "https://other.example.com/v1/chat/completions"
    assert wire.requests[-1].headers["authorization"] == "Bearer fake-arg-key"


def test_openai_environment_does_not_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "fake-openai-key")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-fake")
    model = ChatFlexAI()
    assert model.openai_api_base == "https://tokens.flex.ai/v1"
    assert model.openai_organization is None
    assert model.root_client.api_key == FAKE_KEY


def test_missing_key_fails_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEXAI_API_KEY")
    with pytest.raises(ValueError, match="FLEXAI_API_KEY") as info:
        ChatFlexAI()
    assert "api_key=" in str(info.value)


def test_no_duplicate_key_or_base_fields() -> None:
    fields = ChatFlexAI.model_fields
    assert fields["openai_api_key"].alias == "api_key"
    assert fields["openai_api_base"].alias == "base_url"
    assert not {"flexai_api_key", "flexai_api_base", "api_key", "base_url"} & set(fields)


def test_construction_reuses_cached_http_clients() -> None:
    a, b = ChatFlexAI(), ChatFlexAI(model="gemma-4-31b-it")
    assert a.root_client._client is b.root_client._client
    assert a.root_async_client._client is b.root_async_client._client
    assert a.client is not None
    assert a.client._client is a.root_client  # derived from the root: one pool, not two


def test_retry_default_is_documented() -> None:
    model = ChatFlexAI()
    assert model.max_retries == 3
    assert model.root_client.max_retries == 3


# -- identity and serialization -------------------------------------------------------------------


def test_identity() -> None:
    model = ChatFlexAI(temperature=0.2, max_tokens=50)
    params = model._get_ls_params()
    assert params["ls_provider"] == "flexai"
    assert params["ls_model_name"] == "phi-4-multimodal-instruct"
    assert model._llm_type == "chat-flexai"
    assert ChatFlexAI.get_lc_namespace() == ["langchain_flexai", "chat_models"]
    assert ChatFlexAI.is_lc_serializable()
    assert model.metadata is not None
    versions = model.metadata["lc_versions"]
    assert versions["langchain-flexai"] == __version__
    assert "langchain-openai" in versions  # the parent's validator still ran


def test_key_never_in_repr_str_dumps_or_logs(
    caplog: pytest.LogCaptureFixture, wire: WireRecorder
) -> None:
    caplog.set_level(logging.DEBUG)  # the openai SDK, httpx and httpcore log requests at DEBUG
    model = wire.model(api_key="fake-secret-key-xyz")
    model.invoke("hi")
    assert wire.requests[-1].headers["authorization"] == "Bearer fake-secret-key-xyz"
    assert "Building HTTP request" in caplog.text  # the SDK did log the request...
    assert "fake-secret-key-xyz" not in caplog.text  # ...without the key
    assert "fake-secret-key-xyz" not in repr(model)
    assert "fake-secret-key-xyz" not in str(model)
    serialized = dumps(model)
    assert "fake-secret-key-xyz" not in serialized
    assert '"FLEXAI_API_KEY"' in serialized


def test_dumpd_load_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatFlexAI(model="gemma-4-31b-it", temperature=0.3, base_url="https://gw.example/v1")
    data = dumpd(model)
    assert data["id"] == ["langchain_flexai", "chat_models", "ChatFlexAI"]
    assert data["kwargs"]["openai_api_key"] == {
        "lc": 1,
        "type": "secret",
        "id": ["FLEXAI_API_KEY"],
    }
    monkeypatch.setenv("FLEXAI_API_KEY", "fake-key-from-env")
    revived = load(
        data,
        secrets_from_env=True,
        valid_namespaces=["langchain_flexai"],
        allowed_objects=[ChatFlexAI],
    )
    assert isinstance(revived, ChatFlexAI)
    assert revived.model_name == "gemma-4-31b-it"
    assert revived.temperature == 0.3
    assert revived.openai_api_base == "https://gw.example/v1"
    assert revived.openai_api_key is not None
    assert revived.openai_api_key.get_secret_value() == "fake-key-from-env"  # type: ignore[union-attr]


# -- results: provider, reasoning, usage --------------------------------------------------------


def test_invoke_result_metadata_and_reasoning(wire: WireRecorder) -> None:
    wire.respond(json_body=completion("Bonjour", model="gpt-oss-120b", reasoning="think first"))
    message = wire.model(model="gpt-oss-120b").invoke("hi")
    assert isinstance(message, AIMessage)
    assert message.content == "Bonjour"
    assert message.additional_kwargs["reasoning_content"] == "think first"
    assert message.response_metadata["model_provider"] == "flexai"
    assert message.response_metadata["model_name"] == "gpt-oss-120b"
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 13
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "think first"}
    assert message.content_blocks[1]["type"] == "text"


def test_reasoning_in_v1_output(wire: WireRecorder) -> None:
    wire.respond(json_body=completion("Bonjour", reasoning="think first"))
    message = wire.model(output_version="v1").invoke("hi")
    assert message.content == [
        {"type": "reasoning", "reasoning": "think first"},
        {"type": "text", "text": "Bonjour"},
    ]


def _reasoning_stream() -> bytes:
    return sse(
        chunk({"role": "assistant", "content": "", "reasoning_content": "Let me "}),
        chunk({"reasoning_content": "think."}),
        chunk({"content": "Bon"}),
        chunk({"content": "jour"}),
        chunk({}, finish_reason="stop"),
        chunk(None, usage=USAGE),
    )


def test_stream_requests_usage_and_surfaces_reasoning(wire: WireRecorder) -> None:
    wire.respond(content=_reasoning_stream(), stream=True)
    chunks = list(wire.model().stream("hi"))
    assert wire.last["stream"] is True
    assert wire.last["stream_options"] == {"include_usage": True}
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.content == "Bonjour"
    assert full.additional_kwargs["reasoning_content"] == "Let me think."
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_tokens"] == 7
    assert full.usage_metadata["output_tokens"] == 3
    # Every chunk from FlexAI says so; core may add one empty closing chunk of its own.
    from_flexai = [c for c in chunks if c.content or c.usage_metadata or c.additional_kwargs]
    assert len(from_flexai) == 5
    assert all(c.response_metadata["model_provider"] == "flexai" for c in from_flexai)
    assert full.content_blocks[0] == {"type": "reasoning", "reasoning": "Let me think."}


async def test_astream_surfaces_reasoning(wire: WireRecorder) -> None:
    wire.respond(content=_reasoning_stream(), stream=True)
    chunks = [c async for c in wire.model().astream("hi")]
    full = chunks[0]
    for c in chunks[1:]:
        full += c
    assert full.content == "Bonjour"
    assert full.additional_kwargs["reasoning_content"] == "Let me think."


def test_stream_usage_can_be_turned_off(wire: WireRecorder) -> None:
    wire.respond(content=sse(chunk({"content": "x"}), chunk({}, finish_reason="stop")), stream=True)
    list(wire.model(stream_usage=False).stream("hi"))
    assert "stream_options" not in wire.last


@pytest.mark.parametrize("done", [True, False])
def test_stream_cut_before_finish_raises(wire: WireRecorder, *, done: bool) -> None:
    wire.respond(content=sse(chunk({"content": "The answer is"}), done=done), stream=True)
    with pytest.raises(FlexAIStreamInterruptedError, match="truncated"):
        list(wire.model().stream("hi"))


async def test_astream_cut_before_finish_raises(wire: WireRecorder) -> None:
    wire.respond(content=sse(chunk({"content": "The answer is"}), done=False), stream=True)
    with pytest.raises(FlexAIStreamInterruptedError, match="truncated"):
        _ = [c async for c in wire.model().astream("hi")]


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "type_", "code", "exc_type", "expected"),
    [
        (
            401,
            "Invalid API key",
            "authentication_error",
            "invalid_api_key",
            openai.AuthenticationError,
            "FlexAI error 401 invalid_api_key: Invalid API key. Check the FLEXAI_API_KEY",
        ),
        (
            402,
            "Insufficient credits",
            "insufficient_quota",
            "402",
            FlexAICreditExhaustedError,
            "FlexAI error 402: Insufficient credits. Your FlexAI credit is exhausted",
        ),
        (
            400,
            "The model 'nope' does not exist",
            "invalid_request_error",
            "model_not_found",
            openai.BadRequestError,
            "FlexAI error 400 model_not_found: The model 'nope' does not exist. Pass a model id",
        ),
        (
            400,
            "gemma-text is not a multimodal model",
            "invalid_request_error",
            None,
            openai.BadRequestError,
            "FlexAI error 400: gemma-text is not a multimodal model. Send images to a vision model",
        ),
        (
            400,
            "The model declined the forced tool call",
            None,
            "tool_choice_not_honored",
            openai.BadRequestError,
            "FlexAI error 400 tool_choice_not_honored: The model declined the forced tool call.",
        ),
    ],
)
def test_flexai_errors_reach_the_user(
    wire: WireRecorder,
    status: int,
    message: str,
    type_: str | None,
    code: str | None,
    exc_type: type[Exception],
    expected: str,
) -> None:
    wire.respond(
        status,
        content=error_body(status, message, type_=type_, code=code),
        headers={"content-type": "application/json"},
    )
    model = wire.model(max_retries=3)
    with pytest.raises(exc_type) as info:
        model.invoke("hi")
    assert str(info.value).startswith(expected)
    assert FAKE_KEY not in str(info.value)
    assert len(wire.requests) == 1  # 4xx are never retried


def test_credit_error_is_an_api_status_error(wire: WireRecorder) -> None:
    wire.respond(402, content=error_body(402, "No credit", type_="insufficient_quota", code="402"))
    with pytest.raises(openai.APIStatusError) as info:
        wire.model().invoke("hi")
    assert isinstance(info.value, FlexAICreditExhaustedError)
    assert info.value.status_code == 402


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_statuses_are_retried_honouring_retry_after(
    wire: WireRecorder, status: int
) -> None:
    wire.respond(
        status,
        content=error_body(status, "slow down", type_="rate_limit_error", code=None),
        headers={"retry-after": "0", "content-type": "application/json"},
    )
    message = wire.model(max_retries=2).invoke("hi")
    assert message.content == "ok"
    assert len(wire.requests) == 2


async def test_async_errors_are_mapped(wire: WireRecorder) -> None:
    wire.respond(
        401, content=error_body(401, "Invalid API key", type_=None, code="invalid_api_key")
    )
    with pytest.raises(openai.AuthenticationError, match="FlexAI error 401 invalid_api_key"):
        await wire.model().ainvoke("hi")


def test_stream_errors_are_mapped(wire: WireRecorder) -> None:
    wire.respond(402, content=error_body(402, "No credit", type_="insufficient_quota", code="402"))
    with pytest.raises(FlexAICreditExhaustedError, match="credit is exhausted"):
        list(wire.model().stream("hi"))


# -- batch and async invoke share the same request shape -------------------------------------------


async def test_ainvoke_and_batch_send_the_same_json(wire: WireRecorder) -> None:
    model = wire.model(temperature=0)
    model.invoke([HumanMessage("a")])
    sync_body = wire.last
    await model.ainvoke([HumanMessage("a")])
    assert wire.last == sync_body
    model.batch([[HumanMessage("a")], [HumanMessage("a")]])
    assert wire.requests[-1].body == sync_body
    assert wire.requests[-2].body == sync_body


def test_http_transport_errors_are_not_hidden(wire: WireRecorder) -> None:
    def broken(_: httpx.Request) -> httpx.Response:
        msg = "connection refused"
        raise httpx.ConnectError(msg)

    model = ChatFlexAI(
        http_client=httpx.Client(transport=httpx.MockTransport(broken)), max_retries=0
    )
    with pytest.raises(openai.APIConnectionError):
        model.invoke("hi")


def _broken_body() -> Iterator[bytes]:
    yield sse(chunk({"role": "assistant", "content": "The answer"}), done=False)
    msg = "peer closed connection without sending complete message body"
    raise httpx.RemoteProtocolError(msg)


async def _abroken_body() -> AsyncIterator[bytes]:
    for part in _broken_body():
        yield part


def test_stream_connection_drop_raises_our_error() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_broken_body()
        )

    model = ChatFlexAI(http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(
        FlexAIStreamInterruptedError,
        match=r"broke after \d+ chunks \(RemoteProtocolError: peer closed",
    ) as info:
        list(model.stream("hi"))
    assert "truncated" in str(info.value)


async def test_astream_connection_drop_raises_our_error() -> None:
    async def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_abroken_body()
        )

    model = ChatFlexAI(http_async_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    with pytest.raises(FlexAIStreamInterruptedError, match="truncated"):
        _ = [c async for c in model.astream("hi")]


# -- image work: once per request, off the event loop --------------------------------------------


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def _image_message() -> HumanMessage:
    url = "data:image/png;base64," + base64.b64encode(_png_bytes()).decode()
    return HumanMessage(content=["What?", {"type": "image_url", "image_url": {"url": url}}])


@pytest.fixture
def preparations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the thread of every prepare_messages call ChatFlexAI makes that completes.

    (An async request first tries on the loop, with cache hits and header walks only; an attempt
    stopped before heavier work is not counted.)
    """
    calls: list[str] = []
    real = chat_models.prepare_messages

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        try:
            asyncio.get_running_loop()
            calls.append("event loop")
        except RuntimeError:
            calls.append(threading.current_thread().name)
        return result

    monkeypatch.setattr(chat_models, "prepare_messages", spy)
    return calls


def _stream_reply(wire: WireRecorder) -> None:
    wire.respond(
        content=sse(chunk({"content": "ok"}), chunk({}, finish_reason="stop")), stream=True
    )


def test_sync_paths_prepare_images_once(wire: WireRecorder, preparations: list[str]) -> None:
    model = wire.model()
    model.invoke([_image_message()])
    _stream_reply(wire)
    list(model.stream([_image_message()]))
    assert len(preparations) == 2
    assert wire.last["messages"][0]["content"][1]["type"] == "image_url"


async def test_async_paths_prepare_images_once_off_the_loop_unless_cached(
    wire: WireRecorder, preparations: list[str]
) -> None:
    clear_image_cache()
    model = wire.model()
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "BMP")  # converted: pixel work
    url = "data:image/bmp;base64," + base64.b64encode(buffer.getvalue()).decode()

    def message() -> HumanMessage:
        return HumanMessage(content=["What?", {"type": "image_url", "image_url": {"url": url}}])

    await model.ainvoke([message()])
    # The same image again: found in the content cache, prepared on the loop (no thread hop).
    _stream_reply(wire)
    _ = [c async for c in model.astream([message()])]
    await model.abatch([[message()], [message()]])
    assert len(preparations) == 4
    assert preparations[0] not in ("event loop", threading.main_thread().name)
    assert preparations[1:] == ["event loop"] * 3


def test_direct_payload_calls_still_prepare(wire: WireRecorder, preparations: list[str]) -> None:
    payload = wire.model()._get_request_payload([_image_message()])
    assert len(preparations) == 1
    assert payload["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png")


async def test_each_entry_point_shields_and_converts_its_input_once(
    wire: WireRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepared messages travel as such: the payload step neither converts nor shields them again.
    calls: list[int] = []
    real = chat_models.shield_from_core

    def spy(messages: Any) -> Any:
        calls.append(len(messages))
        return real(messages)

    monkeypatch.setattr(chat_models, "shield_from_core", spy)
    model = wire.model()
    model.invoke([_image_message()])
    await model.ainvoke([_image_message()])
    _stream_reply(wire)
    list(model.stream([_image_message()]))
    _stream_reply(wire)
    _ = [c async for c in model.astream([_image_message()])]
    assert calls == [1, 1, 1, 1]
    assert wire.last["messages"][0]["content"][1]["type"] == "image_url"


def test_convert_input_shields_parts_core_would_break_and_passes_prepared_messages() -> None:
    # `_convert_input` is the one place that leans on langchain-core's internals: pin what it
    # hands to core, and that core's own steps leave the shielded parts as they are.
    from langchain_core.language_models._utils import _normalize_messages  # noqa: PLC0415
    from langchain_core.language_models.chat_models import _format_for_tracing  # noqa: PLC0415

    png = base64.b64encode(_png_bytes()).decode()
    risky = {"type": "image", "source_type": "base64", "data": png, "mime_type": "image/png"}
    no_mime = {"type": "image", "base64": png}
    v0_with_id = {
        "type": "image",
        "source_type": "url",
        "url": "https://a.example/x.png",
        "id": "1",
    }
    model = ChatFlexAI()
    converted = model._convert_input([HumanMessage(content=["hi", risky, no_mime, v0_with_id])])
    content = converted.to_messages()[0].content
    assert content == [
        "hi",
        {"type": "non_standard", "value": risky},
        {"type": "non_standard", "value": no_mime},
        {"type": "non_standard", "value": v0_with_id},
    ]
    messages = converted.to_messages()
    _format_for_tracing(messages)
    assert _normalize_messages(messages)[0].content == content
    # Without the shield, core's steps raise on these parts (what makes the shield necessary).
    with pytest.raises(ValueError, match="mime_type key is required"):
        _format_for_tracing([HumanMessage(content=[no_mime])])
    with pytest.raises(TypeError, match="multiple values for keyword argument 'id'"):
        _normalize_messages([HumanMessage(content=[v0_with_id])])
    # Prepared messages hold wire parts only and pass as they are (the same objects).
    prepared = model._prepare_messages(messages, model.model_name)
    assert prepared[0].content[1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{png}"},
    }
    again = model._convert_input(prepared).to_messages()
    assert all(a is b for a, b in zip(again, prepared, strict=True))


def test_explicit_proxy_builds_proxied_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_PROXY", "http://openai-proxy.example.com:3128")
    assert ChatFlexAI().openai_proxy is None  # OpenAI's variable is not FlexAI's
    model = ChatFlexAI(openai_proxy="http://proxy.example.com:3128")
    assert model.http_client is not None
    assert model.http_async_client is not None
    assert model.root_client._client is model.http_client
    proxies = [p._proxy_url for p in proxy_pools(model.http_client)]
    assert [(p.host, p.port) for p in proxies] == [(b"proxy.example.com", 3128)]


@pytest.mark.parametrize(
    "socket_options", [[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)], []], ids=["keepalive", "none"]
)
def test_clients_are_the_sdks_public_ones(socket_options: list[Any] | None) -> None:
    plain = ChatFlexAI(http_socket_options=socket_options)
    assert isinstance(plain.root_client._client, openai.DefaultHttpxClient)
    assert isinstance(plain.root_async_client._client, openai.DefaultAsyncHttpxClient)
    assert (
        plain.root_client._client
        is ChatFlexAI(http_socket_options=socket_options).root_client._client
    )
    proxied = ChatFlexAI(
        openai_proxy="http://proxy.example.com:3128", http_socket_options=socket_options
    )
    for client in (proxied.http_client, proxied.http_async_client):
        assert isinstance(client, openai.DefaultHttpxClient | openai.DefaultAsyncHttpxClient)
        assert client.follow_redirects is False  # through a proxy, as langchain-openai's did
        pools = proxy_pools(client)
        assert [(p._proxy_url.host, p._proxy_url.port) for p in pools] == [
            (b"proxy.example.com", 3128)
        ]
        assert [p._socket_options or [] for p in pools] == [socket_options]


def test_proxy_and_own_client_conflict() -> None:
    with pytest.raises(ValueError, match="either openai_proxy or http_client"):
        ChatFlexAI(openai_proxy="http://proxy.example.com:3128", http_client=httpx.Client())
