"""FlexAI's model catalog: which models exist, what they can do, what they cost.

Reads the public ``GET /api/models`` (at the host root, no key) and, when an API key is known,
``GET /v1/models`` (under the base URL), merges both into one :class:`ModelInfo` per model and
keeps the result for ``ttl`` seconds. Either endpoint may fail; the other is then used alone, with
a :class:`CatalogWarning`. Both failing raises :class:`FlexAICatalogError` with a message that
names the URL and what went wrong, never the key.

Also estimates what a request will cost (:func:`estimate_cost`) from the catalog's prices and
``tokens.count_message_tokens``. Parsing lives in ``_catalog_models``; nothing here reads message
content beyond handing it to the token estimate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from langchain_flexai._env import (
    DEFAULT_BASE_URL,
    FLEXAI_HOSTS,
    api_key_from_env,
    base_url_from_env,
)
from langchain_flexai._transport._identity import httpx_user_agent
from langchain_flexai._transport._redact import mask_url
from langchain_flexai.catalog._models import (
    ModelInfo,
    build_index,
    merge_models,
    not_found,
    parse_public_models,
    parse_v1_models,
)
from langchain_flexai.errors import (
    CatalogWarning,
    FlexAICatalogError,
    ModelNotFoundError,
    escape_text,
)
from langchain_flexai.tokens import ImageFamily, count_message_tokens, image_family

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_flexai.images._policy import ImagePolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "CatalogWarning",
    "CostEstimate",
    "FlexAICatalog",
    "FlexAICatalogError",
    "ModelInfo",
    "ModelNotFoundError",
    "aget_model",
    "alist_models",
    "default_catalog",
    "estimate_cost",
    "get_model",
    "is_flexai_url",
    "list_models",
    "parse_public_models",
    "parse_v1_models",
]

DEFAULT_TTL_S = 300.0
DEFAULT_TIMEOUT_S = 10.0
FAILURE_BACKOFF_S = 30.0
"""After a failed fetch, how long checks treat capabilities as unknown instead of asking again."""
MAX_CATALOG_BYTES = 8 * 1024 * 1024
"""A catalog answer larger than this is refused (the live list is a few hundred kB)."""

_ERROR_PREVIEW_CHARS = 200
_HTTP_UNAUTHORIZED = 401
_HTTP_OK_MAX = 299


def resolve_base_url(base_url: str | None = None) -> str:
    """The API base URL: the argument, else ``FLEXAI_API_BASE``, else the default."""
    return (base_url or base_url_from_env()).rstrip("/")


def is_flexai_url(base_url: str) -> bool:
    """Whether ``base_url`` is FlexAI's own gateway (either host name, any case, any path)."""
    parts = urlsplit(base_url.strip())
    return parts.scheme.lower() == "https" and (parts.hostname or "") in FLEXAI_HOSTS


def public_models_url(base_url: str) -> str:
    """``/api/models`` lives at the host root: the base URL without its ``/v1``."""
    root = base_url.rstrip("/")
    root = root.removesuffix("/v1")
    return f"{root}/api/models"


def keyed_models_url(base_url: str) -> str:
    """``/v1/models`` lives under the base URL."""
    return f"{base_url.rstrip('/')}/models"


def _secret(api_key: str | SecretStr | None) -> str | None:
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if api_key is None:
        api_key = api_key_from_env()
    return api_key or None


@dataclass(frozen=True)
class _Snapshot:
    models: tuple[ModelInfo, ...]
    index: dict[str, ModelInfo]
    fetched_at: float


def _failure(url: str, reason: str) -> FlexAICatalogError:
    # The reason can quote the server's answer: one line, and no credentials from the URL.
    text = f"Could not read FlexAI's model catalog from {mask_url(url)}: {reason}"
    return FlexAICatalogError(escape_text(text))


def _status_reason(response: httpx.Response, body: bytes) -> str:
    # FlexAI's envelope message is documented as safe to show; anything else is truncated.
    message = body[:_ERROR_PREVIEW_CHARS].decode("utf-8", "replace")
    try:
        envelope = json.loads(body)
        inner = envelope.get("error") if isinstance(envelope, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            message = inner["message"][:_ERROR_PREVIEW_CHARS]
    except ValueError:
        pass
    reason = f"HTTP {response.status_code}: {message}".rstrip(": ")
    if response.status_code == _HTTP_UNAUTHORIZED:
        reason += " (check the FLEXAI_API_KEY environment variable or the api_key argument)"
    return reason


def _decode(url: str, response: httpx.Response, body: bytes) -> object:
    if not 200 <= response.status_code <= _HTTP_OK_MAX:  # noqa: PLR2004
        raise _failure(url, _status_reason(response, body))
    try:
        return json.loads(body)
    except ValueError:
        raise _failure(url, "the answer is not JSON") from None


def _transport_reason(error: httpx.HTTPError, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    return f"{type(error).__name__}: {error}"


class FlexAICatalog:
    """A cached view of FlexAI's model catalog.

    Args:
        base_url: API base URL (``FLEXAI_API_BASE``, else ``https://tokens.flex.ai/v1``).
        api_key: API key for ``/v1/models`` (``FLEXAI_API_KEY``); without one only the public
            list is read.
        ttl: Seconds a fetched catalog is reused.
        timeout: Seconds to wait for each endpoint.
        http_client: An ``httpx.Client`` to use instead of a fresh one per fetch (not closed).
        http_async_client: The same for the async methods.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        ttl: float = DEFAULT_TTL_S,
        timeout: float = DEFAULT_TIMEOUT_S,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
    ) -> None:
        """Configure the catalog; nothing is fetched until a model is asked for."""
        if ttl < 0 or timeout <= 0:
            raise ValueError("ttl must be >= 0 and timeout > 0")
        self.base_url = resolve_base_url(base_url)
        self._api_key = _secret(api_key)
        self.ttl = ttl
        self.timeout = timeout
        self._client = http_client
        self._async_client = http_async_client
        self._snapshot: _Snapshot | None = None
        self._failed_at: float | None = None
        self._static = False
        self._lock = threading.Lock()

    @classmethod
    def from_models(cls, models: Iterable[ModelInfo]) -> FlexAICatalog:
        """A catalog over given records that never touches the network (tests, offline use)."""
        catalog = cls(base_url=DEFAULT_BASE_URL, api_key=None)
        catalog._static = True
        catalog._snapshot = _snapshot(list(models))
        return catalog

    def __repr__(self) -> str:
        """Show where the catalog reads from; never the key."""
        key = "set" if self._api_key else "unset"
        return f"FlexAICatalog(base_url={self.base_url!r}, api_key={key}, ttl={self.ttl:g})"

    # --- cache -----------------------------------------------------------------------------
    def _fresh(self) -> _Snapshot | None:
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if self._static or time.monotonic() - snapshot.fetched_at < self.ttl:
            return snapshot
        return None

    def cached_models(self) -> tuple[ModelInfo, ...] | None:
        """The models of the catalog already fetched (even if stale), or None; never fetches."""
        snapshot = self._snapshot
        return snapshot.models if snapshot is not None else None

    def cached_model(self, name: str) -> ModelInfo | None:
        """The record of ``name`` from a fresh cached catalog, or None; never fetches.

        For checks that must cost no request: a model absent from the cache is unknown, not
        refused (a stale cache counts as absent, since capabilities may have changed).
        """
        snapshot = self._fresh()
        return snapshot.index.get(name.casefold()) if snapshot is not None else None

    def clear_cache(self) -> None:
        """Forget the fetched catalog; the next call fetches again."""
        if not self._static:
            self._snapshot = None

    def _requests(self) -> list[tuple[str, str, dict[str, str]]]:
        agent = {"User-Agent": httpx_user_agent()}  # names this package to FlexAI
        requests: list[tuple[str, str, dict[str, str]]] = [
            ("public", public_models_url(self.base_url), agent)
        ]
        if self._api_key:
            auth = {**agent, "Authorization": f"Bearer {self._api_key}"}
            requests.append(("v1", keyed_models_url(self.base_url), auth))
        return requests

    # --- fetching --------------------------------------------------------------------------
    def _get_sync(self, client: httpx.Client, url: str, headers: dict[str, str]) -> object:
        try:
            with client.stream("GET", url, headers=headers, timeout=self.timeout) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CATALOG_BYTES:
                        raise _failure(url, f"the answer exceeds {MAX_CATALOG_BYTES} bytes")
        except httpx.HTTPError as error:
            raise _failure(url, _transport_reason(error, self.timeout)) from None
        return _decode(url, response, bytes(body))

    def _try_get_sync(
        self, client: httpx.Client, url: str, headers: dict[str, str]
    ) -> object | FlexAICatalogError:
        try:
            return self._get_sync(client, url, headers)
        except FlexAICatalogError as error:
            return error

    async def _get_async(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
    ) -> object:
        try:
            async with client.stream("GET", url, headers=headers, timeout=self.timeout) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_CATALOG_BYTES:
                        raise _failure(url, f"the answer exceeds {MAX_CATALOG_BYTES} bytes")
        except httpx.HTTPError as error:
            raise _failure(url, _transport_reason(error, self.timeout)) from None
        return _decode(url, response, bytes(body))

    def _fetch(self) -> _Snapshot:
        client = self._client or httpx.Client(timeout=self.timeout)
        try:
            outcomes = {
                source: self._try_get_sync(client, url, headers)
                for source, url, headers in self._requests()
            }
        finally:
            if self._client is None:
                client.close()
        return _combine(outcomes)

    async def _afetch(self) -> _Snapshot:
        client = self._async_client or httpx.AsyncClient(timeout=self.timeout)
        try:
            requests = self._requests()
            results = await asyncio.gather(
                *(self._get_async(client, url, headers) for _, url, headers in requests),
                return_exceptions=True,
            )
        finally:
            if self._async_client is None:
                await client.aclose()
        outcomes: dict[str, object | FlexAICatalogError] = {}
        for (source, _, _), result in zip(requests, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, FlexAICatalogError):
                raise result
            outcomes[source] = result
        return _combine(outcomes)

    def snapshot(self, *, refresh: bool = False) -> tuple[ModelInfo, ...]:
        """Every model, fetching when the cache is empty, stale, or ``refresh`` is set."""
        fresh = None if refresh and not self._static else self._fresh()
        if fresh is None:
            with self._lock:
                fresh = None if refresh and not self._static else self._fresh()
                if fresh is None:
                    fresh = self._snapshot = self._fetch()
        return fresh.models

    async def asnapshot(self, *, refresh: bool = False) -> tuple[ModelInfo, ...]:
        """Async :meth:`snapshot`."""
        fresh = None if refresh and not self._static else self._fresh()
        if fresh is None:
            fresh = self._snapshot = await self._afetch()
        return fresh.models

    # --- queries ---------------------------------------------------------------------------
    def list_models(
        self, capability: str | None = None, *, refresh: bool = False
    ) -> list[ModelInfo]:
        """Models, optionally only those whose ``supports`` tags include ``capability``."""
        return _filter(self.snapshot(refresh=refresh), capability)

    async def alist_models(
        self, capability: str | None = None, *, refresh: bool = False
    ) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        return _filter(await self.asnapshot(refresh=refresh), capability)

    def get_model(self, name: str, *, refresh: bool = False) -> ModelInfo:
        """The model with this id or alias (case-insensitive).

        Raises:
            ModelNotFoundError: No such model; the message suggests close ids.
            FlexAICatalogError: The catalog could not be read.
        """
        self.snapshot(refresh=refresh)
        return self._lookup(name)

    async def aget_model(self, name: str, *, refresh: bool = False) -> ModelInfo:
        """Async :meth:`get_model`."""
        await self.asnapshot(refresh=refresh)
        return self._lookup(name)

    def _recently_failed(self) -> bool:
        failed_at = self._failed_at
        recent = failed_at is not None and time.monotonic() - failed_at < FAILURE_BACKOFF_S
        return recent and self._fresh() is None

    def _unreadable(self, error: FlexAICatalogError) -> None:
        self._failed_at = time.monotonic()
        warnings.warn(f"{error}; capabilities unknown", CatalogWarning, 3)

    def find_model(self, name: str) -> ModelInfo | None:
        """Like :meth:`get_model`, but None when the model is unknown or the catalog unreadable.

        For checks that should degrade to "unknown" rather than fail a request: an unreadable
        catalog is reported as a :class:`CatalogWarning`, and not asked again for
        ``FAILURE_BACKOFF_S`` seconds, so an unreachable catalog does not add a timeout to every
        request.
        """
        if self._recently_failed():
            return None
        try:
            return self.get_model(name)
        except ModelNotFoundError:
            return None
        except FlexAICatalogError as error:
            self._unreadable(error)
            return None

    async def afind_model(self, name: str) -> ModelInfo | None:
        """Async :meth:`find_model`."""
        if self._recently_failed():
            return None
        try:
            return await self.aget_model(name)
        except ModelNotFoundError:
            return None
        except FlexAICatalogError as error:
            self._unreadable(error)
            return None

    def _lookup(self, name: str) -> ModelInfo:
        snapshot = self._snapshot
        index = snapshot.index if snapshot is not None else {}
        info = index.get(name.casefold())
        if info is None:
            raise not_found(name, index)
        return info


def _snapshot(models: list[ModelInfo]) -> _Snapshot:
    return _Snapshot(models=tuple(models), index=build_index(models), fetched_at=time.monotonic())


def _combine(outcomes: dict[str, object | FlexAICatalogError]) -> _Snapshot:
    """Parse what each endpoint answered; warn about one failure, raise when nothing worked."""
    parsed: dict[str, list[ModelInfo]] = {}
    failures: list[FlexAICatalogError] = []
    parsers = {"public": parse_public_models, "v1": parse_v1_models}
    for source, outcome in outcomes.items():
        if isinstance(outcome, FlexAICatalogError):
            failures.append(outcome)
            continue
        try:
            parsed[source] = parsers[source](outcome)
        except FlexAICatalogError as error:
            failures.append(error)
    if not parsed:
        raise FlexAICatalogError("; ".join(str(failure) for failure in failures))
    for failure in failures:
        warnings.warn(f"{failure}; using the other catalog endpoint only", CatalogWarning, 4)
    return _snapshot(merge_models(parsed.get("public", ()), parsed.get("v1", ())))


def _filter(models: Sequence[ModelInfo], capability: str | None) -> list[ModelInfo]:
    if capability is None:
        return list(models)
    return [info for info in models if info.supports(capability)]


# --- process-wide default catalogs ------------------------------------------------------------
_DEFAULTS: dict[tuple[str, str], FlexAICatalog] = {}
_DEFAULTS_LOCK = threading.Lock()


def default_catalog(
    *, base_url: str | None = None, api_key: str | SecretStr | None = None
) -> FlexAICatalog:
    """The shared catalog for a base URL and key, so that its cache serves every caller."""
    url = resolve_base_url(base_url)
    secret = _secret(api_key) or ""
    # The registry is keyed by a digest so the key itself is not kept twice.
    key = (url, hashlib.sha256(secret.encode()).hexdigest())
    with _DEFAULTS_LOCK:
        catalog = _DEFAULTS.get(key)
        if catalog is None:
            catalog = _DEFAULTS[key] = FlexAICatalog(base_url=url, api_key=secret or None)
        return catalog


def list_models(
    capability: str | None = None,
    *,
    base_url: str | None = None,
    api_key: str | SecretStr | None = None,
) -> list[ModelInfo]:
    """FlexAI's models, optionally only those with ``capability`` (e.g. ``"vision"``)."""
    return default_catalog(base_url=base_url, api_key=api_key).list_models(capability)


async def alist_models(
    capability: str | None = None,
    *,
    base_url: str | None = None,
    api_key: str | SecretStr | None = None,
) -> list[ModelInfo]:
    """Async :func:`list_models`."""
    return await default_catalog(base_url=base_url, api_key=api_key).alist_models(capability)


def get_model(
    name: str, *, base_url: str | None = None, api_key: str | SecretStr | None = None
) -> ModelInfo:
    """The catalog record of one model, by id or alias."""
    return default_catalog(base_url=base_url, api_key=api_key).get_model(name)


async def aget_model(
    name: str, *, base_url: str | None = None, api_key: str | SecretStr | None = None
) -> ModelInfo:
    """Async :func:`get_model`."""
    return await default_catalog(base_url=base_url, api_key=api_key).aget_model(name)


# --- cost -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CostEstimate:
    """What a request is expected to cost, before it is sent.

    Prices are in the catalog's unit (per million tokens); costs are in the same currency.

    Attributes:
        model: The catalog id the estimate is for (aliases resolved).
        prompt_tokens: Estimated ``usage.prompt_tokens`` (text and images).
        input_per_mtok: Catalog price per million prompt tokens, if listed.
        output_per_mtok: Catalog price per million completion tokens, if listed.
        input_cost: ``prompt_tokens`` at the input price (no prompt-cache hit assumed).
        max_output_tokens: The completion budget the output cost is computed for, if any.
        max_output_cost: ``max_output_tokens`` at the output price; None without both.
        cached_input_per_mtok: Price of prompt tokens read from the cache (``usage_cost``).
    """

    model: str
    prompt_tokens: int
    input_per_mtok: float | None
    output_per_mtok: float | None
    input_cost: float | None
    max_output_tokens: int | None = None
    max_output_cost: float | None = None
    cached_input_per_mtok: float | None = None

    @property
    def max_total_cost(self) -> float | None:
        """Input cost plus the cost of the whole output budget (an upper bound)."""
        if self.input_cost is None or self.max_output_cost is None:
            return None
        return self.input_cost + self.max_output_cost


def _tokens_model(info: ModelInfo) -> str:
    """The name whose family rule applies: the id, or the Hugging Face id when it says more."""
    if image_family(info.id) is ImageFamily.DEFAULT and info.hugging_face_id:
        return info.hugging_face_id
    return info.id


def tokens_cost(*priced: tuple[int, float | None]) -> float | None:
    """What token counts cost at prices per million tokens; None when a price is missing.

    ``tokens_cost((prompt, input_per_mtok), (completion, output_per_mtok))`` is
    ``(prompt * input_per_mtok + completion * output_per_mtok) / 1_000_000``: the one price
    formula of the package (estimates here, the CLI's closing line).
    """
    total = 0.0
    for tokens, per_mtok in priced:
        if per_mtok is None:
            return None
        total += tokens * per_mtok
    return total / 1_000_000


def estimate_cost(
    messages: Sequence[BaseMessage],
    model: str,
    *,
    catalog: FlexAICatalog | None = None,
    policy: ImagePolicy | None = None,
    max_output_tokens: int | None = None,
    tools: Sequence[Any] | None = None,
) -> CostEstimate:
    """Estimate what sending ``messages`` to ``model`` costs, from the catalog's prices.

    Args:
        messages: The request's messages, in any content shape ChatFlexAI accepts.
        model: Model id or alias.
        catalog: The catalog to price from (default: the shared one for the environment's base
            URL and key, fetched if needed). ``FlexAICatalog.from_models`` gives an offline one.
        policy: The ImagePolicy images will be prepared with.
        max_output_tokens: A completion budget to price as well (an upper bound).
        tools: Tools bound to the request; their schemas are counted as prompt text.

    Returns:
        The estimate; its costs are None where the catalog lists no price.
    """
    catalog = catalog or default_catalog()
    info = catalog.get_model(model)
    prompt_tokens = count_message_tokens(
        messages, model=_tokens_model(info), policy=policy, tools=tools
    )
    input_cost = tokens_cost((prompt_tokens, info.input_per_mtok))
    max_output_cost = (
        tokens_cost((max_output_tokens, info.output_per_mtok))
        if max_output_tokens is not None
        else None
    )
    return CostEstimate(
        model=info.id,
        prompt_tokens=prompt_tokens,
        input_per_mtok=info.input_per_mtok,
        output_per_mtok=info.output_per_mtok,
        input_cost=input_cost,
        max_output_tokens=max_output_tokens,
        max_output_cost=max_output_cost,
        cached_input_per_mtok=info.cached_input_per_mtok,
    )
