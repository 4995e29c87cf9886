"""FlexAIEmbeddings: LangChain's `Embeddings` for FlexAI's ``POST /v1/embeddings`` (``bge-m3``).

Knows FlexAI's embeddings protocol (docs/flexai_api.md "Embeddings"): the default model
``bge-m3`` (1024 dimensions, 8K context), text only, ``encoding_format`` always sent as
``"float"``, texts sent in batches of `chunk_size`. Shares everything else with `ChatFlexAI`:
the environment variables (``_env``), the key requirement, the shared HTTP pools and proxied
clients, the retries (the openai SDK's, 3 by default, honouring ``Retry-After``), FlexAI's error
mapping and the masking of credentials (``_transport``). Knows nothing about chat, images or
vector stores.

Why the openai SDK directly, not langchain-openai's `OpenAIEmbeddings`:

- `OpenAIEmbeddings` checks context length by default (``check_embedding_ctx_length=True``):
  it tokenizes every text with tiktoken, which downloads its encoding file on first use (no
  network here, nor in many CI jobs), and then sends *tiktoken token ids* as ``input``. Those
  are OpenAI's vocabulary: bge-m3 would embed the wrong tokens. With the check off it sends
  text, but still with no ``encoding_format``, so the SDK asks for ``"base64"``, which one of
  FlexAI's docs pages does not accept (it says ``encoding_format`` is required; the newer says
  optional, but not null) — ``"float"`` is what both accept.
- It reads OpenAI's variables (``OPENAI_API_BASE``, ``OPENAI_PROXY``, ...), builds new HTTP
  clients per instance (not the pools `ChatFlexAI` shares across event loops), and raises the
  SDK's errors as they are (``Error code: 402 - {...}``) with the key still in the request an
  exception carries.

What is left to do by hand is small: one ``embeddings.create`` call per batch, in order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import openai
from langchain_core.embeddings import Embeddings
from langchain_core.utils import from_env, secret_from_env
from langchain_openai.chat_models._client_utils import (
    _resolve_socket_options,
    _resolve_sync_and_async_api_keys,
)
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    model_validator,
)
from typing_extensions import Self

from langchain_flexai._env import API_BASE_ENV, API_KEY_ENV, DEFAULT_BASE_URL
from langchain_flexai._transport._clients import (
    MISSING_KEY_MESSAGE,
    config_error,
    proxied_clients,
)
from langchain_flexai._transport._errors import connection_error, to_flexai_error
from langchain_flexai._transport._identity import sdk_user_agent, with_user_agent
from langchain_flexai._transport._pools import shared_async_client, shared_sync_client
from langchain_flexai._transport._redact import CREDENTIAL_FIELDS, mask_repr_args, mask_setting
from langchain_flexai._transport._stream import flexai_errors
from langchain_flexai.errors import FlexAIConfigError, ModelCapabilityError

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_EMBEDDING_MODEL", "ENCODING_FORMAT", "FlexAIEmbeddings"]

DEFAULT_EMBEDDING_MODEL = "bge-m3"
"""FlexAI's embedding model (1024 dimensions, 8K tokens of context, text only)."""

DEFAULT_BATCH_SIZE = 32
"""Texts per request. FlexAI publishes no per-request cap; 32 is the default cap of
Hugging Face's text-embeddings-inference (``--max-client-batch-size``), a common bge-m3 server,
and keeps a batch of 8K-token texts well under OpenAI-style per-request token caps."""

ENCODING_FORMAT = "float"
"""Sent on every request: one FlexAI docs page says the field is required, a newer one that it
is optional but must not be null; the SDK would otherwise ask for ``"base64"``."""


class FlexAIEmbeddings(BaseModel, Embeddings):
    r"""FlexAI text embeddings (`bge-m3` by default), for vector stores and retrievers.

    Text only: FlexAI has no image embeddings. To search images, describe them first
    (`FlexAIImageLoader(..., model=ChatFlexAI(...))`) and embed the descriptions.

    ## Setup

    ```bash
    pip install ".[all]"
    export FLEXAI_API_KEY="your-api-key"
    ```

    ## Key init args

    | arg | meaning |
    |---|---|
    | `model` | FlexAI embedding model id, default `bge-m3` (1024 dimensions) |
    | `chunk_size` | texts per request, default 32 |
    | `api_key` | FlexAI key; read from `FLEXAI_API_KEY` when not given |
    | `base_url` | default `https://tokens.flex.ai/v1`; read from `FLEXAI_API_BASE` |
    | `max_retries` | retries for 429, 5xx and timeouts, honouring `Retry-After` (default 3) |
    | `timeout` | request timeout in seconds |

    ## Instantiate and embed

    ```python
    from langchain_flexai import FlexAIEmbeddings

    embeddings = FlexAIEmbeddings()
    vector = embeddings.embed_query("a red bicycle")        # 1024 floats
    vectors = embeddings.embed_documents(["one", "two"])    # one list per text, in order
    await embeddings.aembed_documents(["one", "two"])
    ```
    """

    # hide_input_in_errors: a ValidationError would otherwise print every argument, the key too.
    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        hide_input_in_errors=True,
        extra="forbid",
        protected_namespaces=(),
    )

    model: str = DEFAULT_EMBEDDING_MODEL
    """FlexAI embedding model id (the bare id)."""

    chunk_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1)
    """Texts per request; `embed_documents` sends its texts in order, one batch at a time."""

    openai_api_key: SecretStr | Callable[[], str] | Callable[[], Awaitable[str]] | None = Field(
        alias="api_key",
        default_factory=secret_from_env(API_KEY_ENV, default=None),
    )
    """FlexAI API key; read from the `FLEXAI_API_KEY` environment variable when not given."""

    openai_api_base: str | None = Field(
        alias="base_url",
        default_factory=from_env(API_BASE_ENV, default=DEFAULT_BASE_URL),
    )
    """Base URL of FlexAI's API; read from `FLEXAI_API_BASE`, default `https://tokens.flex.ai/v1`."""

    openai_proxy: str | None = None
    """An explicit proxy URL (`OPENAI_PROXY` is not read; httpx honours `HTTPS_PROXY`)."""

    max_retries: int = Field(default=3, ge=0)
    """Retries for 429, 5xx, timeouts and connection errors (the SDK's backoff, honouring
    FlexAI's `Retry-After`). 400, 401, 402 and 404 are never retried."""

    request_timeout: float | Any | None = Field(default=None, alias="timeout")
    """Request timeout in seconds (or an `httpx.Timeout`); None: the SDK's default."""

    default_headers: Mapping[str, str] | None = None
    """Headers sent with every request (shown masked where they name a credential)."""

    default_query: Mapping[str, object] | None = None
    """Query parameters sent with every request (shown masked where they name a credential)."""

    http_socket_options: Sequence[tuple[int, int, int]] | None = None
    """Socket options for the HTTP pools, as `ChatFlexAI` takes them."""

    http_client: Any | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.Client` for sync calls (default: the pool shared with `ChatFlexAI`)."""

    http_async_client: Any | None = Field(default=None, exclude=True, repr=False)
    """Your own `httpx.AsyncClient` for async calls (default: the shared per-loop pools)."""

    client: Any = Field(default=None, exclude=True, repr=False)
    """The SDK's sync `embeddings` resource (built from the settings above)."""

    async_client: Any = Field(default=None, exclude=True, repr=False)
    """The SDK's async `embeddings` resource (built from the settings above)."""

    def __init__(self, **kwargs: Any) -> None:
        """Build the embeddings; a missing key raises `FlexAIConfigError`, one line."""
        try:
            super().__init__(**kwargs)
        except ValidationError as error:
            bare = config_error(error)
            if bare is None:
                raise
            raise bare from None

    @model_validator(mode="after")
    def _build_clients(self) -> Self:
        """Require a key, then build SDK clients over the HTTP pools `ChatFlexAI` shares."""
        key = self.openai_api_key
        if key is None or (isinstance(key, SecretStr) and not key.get_secret_value()):
            raise FlexAIConfigError(MISSING_KEY_MESSAGE)
        sync_key, async_key = _resolve_sync_and_async_api_keys(key)
        params: dict[str, Any] = {
            "base_url": self.openai_api_base,
            "timeout": self.request_timeout,
            "max_retries": self.max_retries,
            "default_query": self.default_query,
        }
        options = _resolve_socket_options(self.http_socket_options)
        self.http_client, self.http_async_client = proxied_clients(
            self.openai_proxy,
            self.openai_api_base,
            (self.http_client, self.http_async_client),
            options,
        )
        base, timeout = self.openai_api_base, self.request_timeout
        if self.client is None and sync_key is not None:
            http = self.http_client or shared_sync_client(base, timeout, options)
            self.client = openai.OpenAI(
                **params,
                api_key=sync_key,
                http_client=http,
                default_headers=self._client_headers(async_client=False),
            ).embeddings
        if self.async_client is None:
            http = self.http_async_client or shared_async_client(base, timeout, options)
            self.async_client = openai.AsyncOpenAI(
                **params,
                api_key=async_key,
                http_client=http,
                default_headers=self._client_headers(async_client=True),
            ).embeddings
        return self

    def _client_headers(self, *, async_client: bool) -> Mapping[str, str] | None:
        # The one place the SDK clients' default headers are decided, per client (the SDK's
        # own User-Agent differs between OpenAI and AsyncOpenAI): the User-Agent naming
        # langchain-flexai after the SDK's, as ChatFlexAI's clients send it. The setting
        # itself is left as given (repr, model_dump).
        return with_user_agent(self.default_headers, sdk_user_agent(async_client=async_client))

    # -- credentials in settings: masked wherever the object is shown --------------------------

    def __repr_args__(self) -> Any:
        """`repr`, `str` (and so `dumps`) show URL, header and query credentials masked."""
        return mask_repr_args(super().__repr_args__())

    @field_serializer(*CREDENTIAL_FIELDS, check_fields=False)
    def _mask_credentials(self, value: Any) -> Any:
        # model_dump and model_dump_json: a password in a proxy or base URL, a key in a header.
        return mask_setting(value)

    # -- embedding -----------------------------------------------------------------------------

    def _errors(self) -> AbstractContextManager[None]:
        base_url = self.openai_api_base
        return flexai_errors(
            lambda e: to_flexai_error(e, base_url=base_url),
            lambda e: connection_error(e, base_url=base_url),
        )

    def _batches(self, texts: Sequence[str]) -> Iterator[list[str]]:
        checked = _text_only(texts)
        for start in range(0, len(checked), self.chunk_size):
            yield checked[start : start + self.chunk_size]

    def _request(self, batch: list[str]) -> dict[str, Any]:
        return {"input": batch, "model": self.model, "encoding_format": ENCODING_FORMAT}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts` (in batches of `chunk_size`, in order): one vector per text.

        Raises:
            ModelCapabilityError: An item is not a string (an image, bytes, a Document).
            openai.APIStatusError: FlexAI refused (its message and a hint; 402 is
                `FlexAICreditExhaustedError`).
            FlexAIConnectionError: FlexAI could not be reached (`FlexAITimeoutError`: in time).
        """
        if self.client is None:
            msg = "This FlexAIEmbeddings has an async-only api_key: use aembed_documents."
            raise ValueError(msg)
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            with self._errors():
                response = self.client.create(**self._request(batch))
            vectors.extend(_vectors(response, len(batch)))
        return vectors

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed `texts` asynchronously; same batches, order and errors as `embed_documents`."""
        vectors: list[list[float]] = []
        for batch in self._batches(texts):
            with self._errors():
                response = await self.async_client.create(**self._request(batch))
            vectors.extend(_vectors(response, len(batch)))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one query text."""
        return self.embed_documents([text])[0]

    async def aembed_query(self, text: str) -> list[float]:
        """Embed one query text asynchronously."""
        return (await self.aembed_documents([text]))[0]


def _text_only(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, or the error naming the first item that is not text."""
    if isinstance(texts, str):
        msg = "embed_documents takes a list of texts, not one string: use embed_query(text)."
        raise TypeError(msg)
    checked = list(texts)
    for index, text in enumerate(checked):
        if not isinstance(text, str):
            msg = (
                f"FlexAIEmbeddings embeds text only: texts[{index}] is "
                f"{type(text).__name__}. FlexAI has no image embeddings; describe images "
                "with ChatFlexAI (or FlexAIImageLoader) and embed the descriptions."
            )
            raise ModelCapabilityError(msg)
    return checked


def _vectors(response: Any, expected: int) -> list[list[float]]:
    """The vectors of one response, in input order (by ``index``), one per text sent."""
    data = sorted(response.data, key=lambda item: item.index)
    if len(data) != expected:
        msg = f"FlexAI returned {len(data)} embeddings for {expected} texts; retry the request."
        raise RuntimeError(msg)
    return [list(map(float, item.embedding)) for item in data]
