"""One verified TLS context for every pool of a trust setting, instead of one per event loop.

Each new event loop gets a pool of its own (``_pools.LoopLocalTransport``); building httpx's
verified context for it loaded the whole CA bundle again. No sockets: pools are built, not used.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme

from langchain_flexai import ChatFlexAI
from langchain_flexai._transport._clients import proxied_clients
from langchain_flexai._transport._pools import (
    LoopLocalTransport,
    sdk_httpx,
    shared_sync_client,
    verified_tls_context,
)

_TRUST_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*_TRUST_VARS, *_PROXY_VARS, "FLEXAI_ASYNC_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)


def _context_of(transport: Any) -> ssl.SSLContext:
    """The context an httpx transport's httpcore pool wraps its connections with."""
    pool = transport._pool
    # httpcore writes the context's ALPN list at each connection: one shared context is only
    # sound while every pool using it asks for the same list (HTTP/1.1 alone).
    assert pool._http1 is True
    assert pool._http2 is False
    context = pool._ssl_context
    assert isinstance(context, ssl.SSLContext)
    return context


def _loop_pool_context(transport: LoopLocalTransport) -> ssl.SSLContext:
    async def pool() -> Any:
        return await transport._pool()

    return _context_of(asyncio.run(pool()))


def _ca_file(tmp_path: Path, name: str) -> str:
    """A fresh trustme CA's certificate, written to a file; its path."""
    path = tmp_path / f"{name}.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def _subjects(context: ssl.SSLContext) -> list[Any]:
    return sorted(str(cert["subject"]) for cert in context.get_ca_certs())


def test_pools_on_new_event_loops_share_one_context() -> None:
    transport = LoopLocalTransport()
    first = _loop_pool_context(transport)
    second = _loop_pool_context(transport)  # another asyncio.run: another loop, another pool
    assert first is second
    assert first is _loop_pool_context(LoopLocalTransport())  # and another client's pools


def test_the_shared_context_verifies_as_httpx_own_does() -> None:
    shared, own = verified_tls_context(), sdk_httpx.create_ssl_context()
    assert shared.verify_mode is ssl.CERT_REQUIRED
    assert shared.check_hostname is True
    assert shared.minimum_version == own.minimum_version
    assert shared.cert_store_stats() == own.cert_store_stats()
    assert _subjects(shared) == _subjects(own)


def test_a_changed_trust_setting_gets_a_context_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = verified_tls_context()
    path = _ca_file(tmp_path, "first")
    monkeypatch.setenv("SSL_CERT_FILE", path)
    private = verified_tls_context()
    assert private is not default
    assert private is verified_tls_context()
    # It trusts that CA only, as httpx's context for the same setting does.
    assert _subjects(private) == _subjects(sdk_httpx.create_ssl_context())
    assert len(private.get_ca_certs()) == 1
    other = _ca_file(tmp_path, "second")
    monkeypatch.setenv("SSL_CERT_FILE", other)
    assert verified_tls_context() is not private
    assert _loop_pool_context(LoopLocalTransport()) is verified_tls_context()
    monkeypatch.delenv("SSL_CERT_FILE")
    assert verified_tls_context() is default


def test_the_sync_and_proxied_clients_use_it_too() -> None:
    assert _context_of(shared_sync_client("http://127.0.0.1:9/v1", 5.0)._transport) is (
        verified_tls_context()
    )
    sync, asynchronous = proxied_clients("http://proxy.invalid:3128", "", (None, None), ())
    (mounted,) = sync._mounts.values()
    assert _context_of(mounted) is verified_tls_context()
    assert _loop_pool_context(asynchronous._transport) is verified_tls_context()


def test_a_model_pool_made_in_a_second_asyncio_run_reuses_it() -> None:
    model = ChatFlexAI(api_key="fake-key", base_url="http://127.0.0.1:9/v1")
    transport = model.root_async_client._client._transport
    assert isinstance(transport, LoopLocalTransport)
    assert _loop_pool_context(transport) is _loop_pool_context(transport)


def test_the_aiohttp_pools_of_new_event_loops_share_it_too() -> None:
    from langchain_flexai._transport._aiohttp import AiohttpPool  # noqa: PLC0415 - extra

    async def session_context() -> object:
        pool = AiohttpPool()
        try:
            return pool._session.connector._ssl  # type: ignore[union-attr]
        finally:
            await pool.aclose()

    first, second = asyncio.run(session_context()), asyncio.run(session_context())
    assert first is second
    assert first is verified_tls_context()
