"""The openai SDK clients of a ChatFlexAI, and the configuration they require.

Knows that a key is required (and the one-line error saying where to get one), how the sync and
async SDK clients are built over shared HTTP pools (:mod:`._pools`), which pool the async ones
use (httpx's, or aiohttp's when ``FLEXAI_ASYNC_TRANSPORT=aiohttp`` and no proxy applies), and
that a proxy gets clients of its own: an explicit ``openai_proxy``, or the one the environment
names for the base URL (``environment_proxy``). Knows nothing about messages, images or FlexAI's
error semantics.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import openai

# The two langchain-openai internals left: its socket-option defaults (TCP keepalive, read from
# its LANGCHAIN_OPENAI_TCP_* variables) and the split of a key callable into sync and async forms.
from langchain_openai.chat_models._client_utils import (
    _resolve_socket_options,
    _resolve_sync_and_async_api_keys,
)
from pydantic import SecretStr, ValidationError

from langchain_flexai._transport._body import AsyncFlexAIOpenAI, FlexAIOpenAI
from langchain_flexai._transport._controls import check_n
from langchain_flexai._transport._identity import sdk_user_agent, with_user_agent
from langchain_flexai._transport._pools import (
    LIMITS,
    LoopLocalTransport,
    PoolFactory,
    SocketOption,
    sdk_httpx,
    shared_async_client,
    shared_sync_client,
    verified_tls_context,
)
from langchain_flexai.errors import FlexAIConfigError

if TYPE_CHECKING:
    from langchain_openai.chat_models.base import BaseChatOpenAI

__all__ = [
    "ASYNC_TRANSPORT_VAR",
    "MISSING_KEY_MESSAGE",
    "config_error",
    "environment_proxy",
    "install_clients",
    "proxied_clients",
]

# Opt-in: "aiohttp" puts async requests on aiohttp's pool (:mod:`._aiohttp`); httpx by default.
ASYNC_TRANSPORT_VAR = "FLEXAI_ASYNC_TRANSPORT"

MISSING_KEY_MESSAGE = (
    "No FlexAI API key: set the FLEXAI_API_KEY environment variable or pass api_key=... "
    "(get a key at https://console.flex.ai). To try things offline, use "
    "langchain_flexai.testing.FlexAIEmulator."
)


def config_error(error: ValidationError) -> FlexAIConfigError | None:
    """The `FlexAIConfigError` a validator raised, which pydantic wrapped in ``error``."""
    for detail in error.errors():
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, FlexAIConfigError):
            return cause
    return None


def install_clients(model: BaseChatOpenAI) -> None:
    """Check ``model``'s settings, then give it SDK clients over shared HTTP pools.

    Sync requests use a shared client, async ones a shared client with a pool per event loop
    (:mod:`._pools`); an explicit `openai_proxy` gets clients of its own. All are the openai SDK's
    public `DefaultHttpxClient` / `DefaultAsyncHttpxClient`, under SDK clients that encode each
    request body once (:mod:`._body`); ``FLEXAI_ASYNC_TRANSPORT=aiohttp`` puts the async pools on
    aiohttp (:mod:`._aiohttp`) unless a proxy applies. Clients the caller set are kept.

    Raises:
        FlexAIConfigError: No key (``MISSING_KEY_MESSAGE``).
        FlexAIConfigError: ``n > 1``: FlexAI answers 400 to it (``_controls``).
        FlexAIConfigError: ``FLEXAI_ASYNC_TRANSPORT`` is neither ``httpx`` nor ``aiohttp``.
        ImportError: ``FLEXAI_ASYNC_TRANSPORT=aiohttp`` without aiohttp installed.
        ValueError: Contradictory settings (``n < 1``, a proxy next to a client of one's own).
    """
    if model.n is not None and model.n < 1:
        msg = "n must be at least 1."
        raise ValueError(msg)
    check_n(model.n)  # FlexAI answers 400 to n > 1
    if model.openai_api_key is None or (
        isinstance(model.openai_api_key, SecretStr) and not model.openai_api_key.get_secret_value()
    ):
        raise FlexAIConfigError(MISSING_KEY_MESSAGE)

    sync_key, async_key = _resolve_sync_and_async_api_keys(model.openai_api_key)
    client_params: dict[str, Any] = {
        "base_url": model.openai_api_base,
        "timeout": model.request_timeout,
        "default_query": model.default_query,
    }
    headers = model.default_headers  # the model's setting is left as given (repr, dumps)
    if model.max_retries is not None:
        client_params["max_retries"] = model.max_retries
    socket_options = _resolve_socket_options(model.http_socket_options)
    model.http_client, model.http_async_client = proxied_clients(
        model.openai_proxy,
        model.openai_api_base,
        (model.http_client, model.http_async_client),
        socket_options,
    )
    if not model.client and sync_key is not None:
        model.root_client = FlexAIOpenAI(
            **client_params,
            default_headers=with_user_agent(headers, sdk_user_agent()),
            api_key=sync_key,
            http_client=model.http_client
            or shared_sync_client(model.openai_api_base, model.request_timeout, socket_options),
        )
        model.client = model.root_client.chat.completions
    if not model.async_client:
        model.root_async_client = AsyncFlexAIOpenAI(
            **client_params,
            default_headers=with_user_agent(headers, sdk_user_agent(async_client=True)),
            api_key=async_key,
            http_client=model.http_async_client
            or shared_async_client(
                model.openai_api_base,
                model.request_timeout,
                socket_options,
                _async_pool_factory(model.openai_api_base),
            ),
        )
        model.async_client = model.root_async_client.chat.completions


def _async_pool_factory(base_url: str | None) -> PoolFactory | None:
    """The aiohttp pool if ``FLEXAI_ASYNC_TRANSPORT=aiohttp`` and no proxy applies; else httpx's.

    A proxy keeps httpx: its proxy paths are the tested ones, and aiohttp's would be a second
    implementation. A model with a proxy (``openai_proxy``, or the environment's for its base
    URL) has proxied httpx clients before any shared pool is asked for (``proxied_clients``);
    the environment's is asked again here for a model that brought only a sync client.

    Raises:
        FlexAIConfigError: The variable holds something other than ``httpx`` or ``aiohttp``.
        ImportError: aiohttp is asked for but not installed (names the extra).
    """
    choice = os.environ.get(ASYNC_TRANSPORT_VAR, "").strip().lower() or "httpx"
    if choice not in {"httpx", "aiohttp"}:
        msg = f"{ASYNC_TRANSPORT_VAR}={choice!r} is neither 'httpx' nor 'aiohttp' (unset: httpx)."
        raise FlexAIConfigError(msg)
    if choice == "httpx" or environment_proxy(base_url):
        return None
    from langchain_flexai._transport._aiohttp import AiohttpPool  # noqa: PLC0415 - the extra

    return AiohttpPool


def environment_proxy(base_url: str | None) -> str | None:
    """The proxy the environment names for ``base_url`` (``HTTPS_PROXY`` ...), or None.

    httpx reads ``HTTP(S)_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` only for the transports it
    builds itself; the shared pools are transports of ours (:mod:`._pools`), under which httpx
    reads no proxy at all, so requests would go direct past a proxy the user set. As httpx
    picks: the variable of the URL's scheme, else ``ALL_PROXY``; none for a host ``NO_PROXY``
    names (the standard library's reading of both, which httpx's mirrors).
    """
    if not base_url:
        return None
    parts = urllib.parse.urlsplit(base_url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def proxied_clients(
    explicit: str | None,
    base_url: str | None,
    given: tuple[Any, Any],
    socket_options: tuple[SocketOption, ...],
) -> tuple[Any, Any]:
    """The (sync, async) HTTP clients a model keeps: its own, or a proxy's, or None for shared.

    ``explicit`` is ``openai_proxy``; without it, a proxy from the environment applies unless the
    caller gave a client of their own (theirs decides). The proxy URL (credentials and all) lives
    only in the transports, never in a field that is printed or serialized.

    Raises:
        ValueError: ``openai_proxy`` beside a client of one's own.
    """
    if explicit:
        if any(given):
            msg = "Pass either openai_proxy or http_client/http_async_client, not both."
            raise ValueError(msg)
        return _proxied_clients(explicit, socket_options)
    if any(given):
        return given
    proxy = environment_proxy(base_url)
    return _proxied_clients(proxy, socket_options) if proxy else given


def _proxied_clients(
    proxy: str, socket_options: tuple[SocketOption, ...]
) -> tuple[openai.DefaultHttpxClient, openai.DefaultAsyncHttpxClient]:
    """A sync and an async client sending everything through ``proxy``.

    The sync transport is mounted under ``all://``, the shape httpx's own ``proxy=`` gives (one
    transport whose pool knows the proxy URL), with the SDK's pool limits restated (httpx
    ignores ``limits=`` beside a mount). The async one is a per-loop transport (:mod:`._pools`)
    whose pools are the proxy's, so a proxied model works across event loops as any other
    does. Redirects are not followed through a proxy, as before (the SDK's clients follow them
    otherwise).
    """
    target = sdk_httpx.Proxy(proxy)

    def proxy_pool(options: tuple[SocketOption, ...]) -> sdk_httpx.AsyncBaseTransport:
        return sdk_httpx.AsyncHTTPTransport(
            verify=verified_tls_context(),
            proxy=target,
            socket_options=list(options) or None,
            limits=LIMITS,
        )

    sync = sdk_httpx.HTTPTransport(
        verify=verified_tls_context(),
        proxy=target,
        socket_options=list(socket_options) or None,
        limits=LIMITS,
    )
    # trust_env=False: the proxy is this one only (httpx would add the environment's beside it,
    # and prefer them for the schemes they name); certificates are the transports' own choice.
    return (
        openai.DefaultHttpxClient(mounts={"all://": sync}, follow_redirects=False, trust_env=False),
        openai.DefaultAsyncHttpxClient(
            transport=LoopLocalTransport(socket_options, proxy_pool),
            follow_redirects=False,
            trust_env=False,
        ),
    )
