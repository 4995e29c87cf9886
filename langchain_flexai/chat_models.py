"""ChatFlexAI: LangChain's chat model for FlexAI's OpenAI-compatible inference API.

Knows FlexAI's protocol on top of langchain-openai's transport: defaults (endpoint, key, model),
identity (provider name, serialization namespace), the non-OpenAI ``reasoning_content`` field,
FlexAI's error semantics, and the point where every outgoing message list is handed to
:mod:`langchain_flexai.content`. Knows nothing about the shapes of content or about pixels.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal

import openai
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import ChatPromptValue, PromptValue
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    model_validator,
)
from typing_extensions import Self

from langchain_flexai._env import API_BASE_ENV, API_KEY_ENV, DEFAULT_BASE_URL
from langchain_flexai._fetch_fallback import RemoteImagesFallback
from langchain_flexai._token_methods import OfflineTokenCounts
from langchain_flexai._transport._clients import MISSING_KEY_MESSAGE, config_error, install_clients
from langchain_flexai._transport._controls import apply_controls, known_info
from langchain_flexai._transport._errors import (
    add_suggestions,
    connection_error,
    error_code,
    to_flexai_error,
)
from langchain_flexai._transport._payload import payload_with_wire_parts
from langchain_flexai._transport._reasoning import reasoning_of_choices, reasoning_of_chunk
from langchain_flexai._transport._redact import (
    CREDENTIAL_FIELDS,
    mask_repr_args,
    mask_serialized,
    mask_setting,
)
from langchain_flexai._transport._stream import StreamGuard, flexai_errors, with_image_stats
from langchain_flexai._transport._usage import add_cache_details, usage_of
from langchain_flexai._version import __version__
from langchain_flexai.catalog._client import FlexAICatalog, ModelInfo, default_catalog
from langchain_flexai.catalog.capabilities import (
    catalog_image_refusal,
    check_capabilities,
    record_forced_tool_choice_declined,
)
from langchain_flexai.catalog.profiles import profile_for, refresh_profile, suggest_models
from langchain_flexai.content._messages import (
    ToolImages,
    WireMessages,
    prepare_messages,
    shield_from_core,
)
from langchain_flexai.content._offload import prepare_off_loop

# Importable from here as in 0.2.0 (they live in errors.py).
from langchain_flexai.errors import FlexAIConfigError, FlexAIStreamInterruptedError  # noqa: F401
from langchain_flexai.images._fetch import remote_fetcher
from langchain_flexai.images._policy import ImagePolicy

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.language_models import LangSmithParams, LanguageModelInput, ModelProfile

DEFAULT_API_BASE = DEFAULT_BASE_URL
DEFAULT_MODEL = "phi-4-multimodal-instruct"
PROVIDER = "flexai"
__all__ = ["DEFAULT_API_BASE", "DEFAULT_MODEL", "MISSING_KEY_MESSAGE", "PROVIDER", "ChatFlexAI"]


class ChatFlexAI(OfflineTokenCounts, RemoteImagesFallback):  # see the two modules
    r"""FlexAI chat model, with first-class image input for FlexAI's vision models.

    FlexAI serves open-weight models behind an OpenAI-compatible API. `ChatFlexAI` maps every
    LangChain image shape (OpenAI `image_url`, LangChain v0/v1 image blocks, Anthropic, Gemini and
    Bedrock shapes, images inside tool results) to parts FlexAI accepts, validating, converting and
    downscaling images on the way, and never opening a file or fetching a URL named in content.

    ## Setup

    ```bash
    pip install ".[all]"    # from a checkout: PyPI's langchain-flexai is another package
    export FLEXAI_API_KEY="your-api-key"
    ```

    ## Key init args — completion params

    | arg | meaning |
    |---|---|
    | `model` | FlexAI model id, default `phi-4-multimodal-instruct` |
    | `temperature` | sampling temperature |
    | `max_tokens` | maximum tokens to generate (reasoning vision models need a generous one) |
    | `reasoning_effort`, `thinking` | reasoning controls, checked against the catalog's tags |

    ## Key init args — client params

    | arg | meaning |
    |---|---|
    | `api_key` | FlexAI key; read from `FLEXAI_API_KEY` when not given |
    | `base_url` | default `https://tokens.flex.ai/v1`; read from `FLEXAI_API_BASE` |
    | `max_retries` | retries for 429, 5xx and timeouts, honouring `Retry-After` (default 3) |
    | `timeout` | request timeout in seconds |
    | `image_policy` | an `ImagePolicy`: size, pixel, byte and count limits for images |
    | `remote_images` | `"pass"` (FlexAI fetches https images), `"fetch"` or `"fetch_on_refusal"` |
    | `tool_images` | where images returned by tools go: `"user_message"`, `"keep"`, `"error"` |
    | `check_capabilities` | `"known"` (default): refuse images to a known text-only model |

    ## Instantiate

    ```python
    from langchain_flexai import ChatFlexAI

    model = ChatFlexAI(model="phi-4-multimodal-instruct", temperature=0, max_tokens=512)
    ```

    ## Invoke

    ```python
    messages = [
        ("system", "You are a helpful assistant."),
        ("human", "Say hello in French."),
    ]
    model.invoke(messages)
    ```

    ## Stream

    ```python
    for chunk in model.stream(messages):
        print(chunk.text, end="")
    ```

    Usage arrives in the second-to-last chunk (the last one closes the stream): `stream_usage`
    is on by default, because FlexAI reports usage on a stream only when asked.

    ## Async

    ```python
    await model.ainvoke(messages)
    async for chunk in model.astream(messages):
        ...
    await model.abatch([messages, messages])
    ```

    Image preparation runs in a worker thread on async paths, so the event loop never stalls;
    a request whose images are cached, or small and sent as they are, is prepared on the loop.

    ## Tool calling

    ```python
    from pydantic import BaseModel, Field

    class GetWeather(BaseModel):
        '''Get the current weather in a given location.'''

        location: str = Field(..., description="The city, e.g. Paris")

    model_with_tools = model.bind_tools([GetWeather])
    model_with_tools.invoke("What is the weather in Paris?").tool_calls
    ```

    ## Structured output

    ```python
    class Caption(BaseModel):
        '''A caption for an image.'''

        caption: str

    model.with_structured_output(Caption, method="json_schema").invoke("Caption: a red square")
    ```

    ## Image input

    ```python
    from langchain_core.messages import HumanMessage
    from langchain_flexai import image_block

    message = HumanMessage(
        content=[
            {"type": "text", "text": "What is in this picture?"},
            image_block("photo.jpg"),  # a local file, read by your code: the trusted door
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]
    )
    model.invoke([message])
    ```

    Any LangChain image shape works; https URLs go through untouched, inline images are checked,
    converted to JPEG/PNG/WebP/GIF, rotated upright and downscaled as the `image_policy` says.

    ## Token usage

    ```python
    ai_msg = model.invoke(messages)
    ai_msg.usage_metadata
    # {"input_tokens": 28, "output_tokens": 5, "total_tokens": 33}
    ```

    ## Response metadata

    ```python
    ai_msg.response_metadata
    # {"model_provider": "flexai", "model_name": "phi-4-multimodal-instruct",
    #  "finish_reason": "stop", "token_usage": {...}, "images_sent": 1, ...}
    ```

    Reasoning models that return FlexAI's `reasoning_content` field surface it in
    `additional_kwargs["reasoning_content"]` and as a `reasoning` block in `content_blocks`.
    """

    # hide_input_in_errors: a ValidationError would otherwise print every argument, the key too.
    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    model_name: str = Field(default=DEFAULT_MODEL, alias="model")
    """FlexAI model id (the bare id, e.g. `gemma-4-31b-it`, not the Hugging Face id)."""

    openai_api_key: SecretStr | Callable[[], str] | Callable[[], Awaitable[str]] | None = Field(
        alias="api_key",
        default_factory=secret_from_env(API_KEY_ENV, default=None),
    )
    """FlexAI API key; read from the `FLEXAI_API_KEY` environment variable when not given."""

    openai_api_base: str | None = Field(
        alias="base_url",
        default_factory=from_env(API_BASE_ENV, default=DEFAULT_API_BASE),
    )
    """Base URL of FlexAI's API; read from `FLEXAI_API_BASE`, default `https://tokens.flex.ai/v1`."""

    openai_proxy: str | None = None
    """An explicit proxy URL for FlexAI requests. (`OPENAI_PROXY` is not read; httpx still honours
    the standard `HTTPS_PROXY` / `NO_PROXY` variables.)"""

    stream_usage: bool | None = True
    """Ask for token usage on streams (FlexAI sends it only when `include_usage` is requested)."""

    max_retries: int | None = 3
    """Retries for 429, 5xx, timeouts and connection errors, with exponential backoff that honours
    FlexAI's `Retry-After`. 400, 401, 402 and 404 are never retried."""

    image_policy: ImagePolicy | None = None
    """Limits and conversions for images in messages; `None` uses `ImagePolicy()`'s defaults."""

    tool_images: ToolImages = "user_message"
    """Images returned inside a `ToolMessage`: moved into one user message right after the run of
    tool messages (`"user_message"`, what vision models read best), kept in the tool message
    (`"keep"`), or refused (`"error"`)."""

    check_capabilities: bool | Literal["known"] = "known"
    """Refuse, before sending, what the model is known not to do.

    - `"known"` (the default): images sent to a model known not to read them raise
      `ImageInputError` (reason `IMAGE_NOT_ALLOWED`) naming vision models, instead of being paid
      for and ignored. Known means: listed as text-only by the static profile table, or by a
      catalog already fetched in this process (`model_catalog`, or the shared one). No request is
      made for this; an unknown model is sent and the server judges.
    - `True`: also fetch the catalog (once, cached 5 minutes) for models not known yet, and check
      forced tool choices against it as well (`on_forced_tool_decline`).
    - `False`: no checks; everything is sent as given."""

    on_forced_tool_decline: Literal["warn", "raise"] = "warn"
    """With `check_capabilities=True`, what a forced tool choice (`tool_choice="required"` or a
    named tool) on a model known to decline it does: warn and send, or raise
    `ToolChoiceNotSupportedError` without sending."""

    thinking: bool | None = None
    """Thinking on or off (`hybrid_thinking` models); None: the model's default. See the docs."""

    model_catalog: FlexAICatalog | None = Field(default=None, exclude=True)
    """The catalog used by `check_capabilities` and `refresh_profile`; by default the shared one
    for this `base_url` and key (`FlexAICatalog.from_models(...)` makes an offline one)."""

    def __init__(self, **kwargs: Any) -> None:
        """Build the model; a missing key raises `FlexAIConfigError`, one line (see below).

        pydantic wraps an error raised in a validator into a `ValidationError` whose text adds
        the type and every input value; the configuration error is re-raised bare instead.
        """
        try:
            super().__init__(**kwargs)
        except ValidationError as error:
            bare = config_error(error)
            if bare is None:
                raise
            raise bare from None

    @model_validator(mode="after")
    def validate_environment(self) -> Self:
        """Require a key, then build the SDK clients over shared HTTP pools (`_transport`).

        Replaces (does not chain) the parent's validator of the same name: the parent
        would read OpenAI's environment variables, which must not leak into FlexAI requests.
        """
        install_clients(self)
        return self

    @model_validator(mode="after")
    def _set_flexai_version(self) -> Self:
        """Record this package's version in the model's metadata (a uniquely named validator)."""
        self._add_version("langchain-flexai", __version__)
        return self

    @property
    def _llm_type(self) -> str:
        return "chat-flexai"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secrets are serialized as references to the environment variable, never as values."""
        return {"openai_api_key": API_KEY_ENV}

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Serialization namespace: `["langchain_flexai", "chat_models"]`."""
        return ["langchain_flexai", "chat_models"]

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatFlexAI can be serialized with `dumpd` and revived with `load`."""
        return True

    @property
    def lc_attributes(self) -> dict[str, Any]:
        """Serialize the base URL only when it is not FlexAI's default."""
        attributes: dict[str, Any] = {}
        if self.openai_api_base and self.openai_api_base != DEFAULT_API_BASE:
            attributes["openai_api_base"] = self.openai_api_base
        return attributes

    # -- credentials in settings: masked wherever the model is shown or serialized -------------

    def __repr_args__(self) -> Any:
        """`repr` and `str` show proxy, base URL, header and query credentials masked."""
        return mask_repr_args(super().__repr_args__())

    @field_serializer(*CREDENTIAL_FIELDS, check_fields=False)
    def _mask_credentials(self, value: Any) -> Any:
        # model_dump and model_dump_json: a password in a proxy or base URL, a key in a header.
        return mask_setting(value)

    def to_json(self) -> Any:
        """`dumpd`/`dumps` output, with credentials in settings masked (the key is a reference).

        A revived model gets the masked values: pass the proxy URL or headers again.
        """
        return mask_serialized(super().to_json())

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = PROVIDER
        return params

    # -- catalog: profile, capability checks, token estimates ------------------------------------

    def _resolve_model_profile(self) -> ModelProfile | None:
        # A small static table for well-known models; `refresh_profile()` asks the catalog.
        return profile_for(self.model_name)

    def _catalog(self) -> FlexAICatalog:
        if self.model_catalog is not None:
            return self.model_catalog
        key = self.openai_api_key if isinstance(self.openai_api_key, SecretStr) else None
        return default_catalog(base_url=self.openai_api_base, api_key=key)

    def refresh_profile(self) -> ModelProfile:
        """Update `profile` from FlexAI's live catalog (capabilities, token limits) and return it.

        Raises:
            ModelNotFoundError: The catalog does not list this model.
            FlexAICatalogError: The catalog could not be read.
        """
        self.profile = refresh_profile(self.model_name, catalog=self._catalog())
        return self.profile

    def _model_info(self, model: str) -> ModelInfo | None:
        return self._catalog().find_model(model)

    def _image_refusal(self, model: str) -> str | None:
        """Why images cannot go to `model` (None when they can, or when that is unknown)."""
        if self.check_capabilities is False:
            return None
        # "known": only what is at hand, never a request; True: ask the catalog.
        return catalog_image_refusal(model, self._catalog(), fetch=self.check_capabilities is True)

    def _check_tool_choice(self, payload: dict[str, Any]) -> None:
        # Images were checked while preparing the messages (where their positions are known);
        # what is left is the forced tool choice, which only the payload shows.
        model = str(payload.get("model") or self.model_name)
        check_capabilities(
            payload,
            model_info=self._model_info(model),
            on_forced_tool_decline=self.on_forced_tool_decline,
        )

    async def _awarm_catalog(self, kwargs: dict[str, Any]) -> None:
        # Checks read the catalog synchronously; fetch it here first so that they never block
        # the event loop (later lookups are served from the cache, or skipped after a failure).
        if self.check_capabilities is True:
            await self._catalog().afind_model(self._request_model(kwargs))

    def _request_model(self, kwargs: dict[str, Any]) -> str:
        return str(kwargs.get("model") or self.model_name)

    def _flexai_error(self, error: openai.APIStatusError, model: object) -> openai.APIStatusError:
        code = error_code(error)
        if code == "tool_choice_not_honored":
            # Remember it, so that `check_capabilities` catches the next forced call before sending.
            record_forced_tool_choice_declined(str(model or self.model_name))
        mapped = to_flexai_error(error, base_url=self.openai_api_base)
        if code == "model_not_found":
            # From the data at hand (static table, a catalog already fetched): no request.
            add_suggestions(
                mapped, suggest_models(str(model or self.model_name), catalog=self._catalog())
            )
        return mapped

    def _errors(
        self, kwargs: dict[str, Any], guard: StreamGuard | None = None
    ) -> AbstractContextManager[None]:
        """FlexAI's errors for what one request raises (see `_transport._stream`).

        A connection error says where, why and what to check (the SDK says "Connection error.").
        """
        model, base_url = kwargs.get("model"), self.openai_api_base
        return flexai_errors(
            lambda e: self._flexai_error(e, model),
            lambda e: connection_error(e, base_url=base_url),
            guard,
        )

    # -- content preparation -------------------------------------------------------------------

    # Where images are prepared: once per request, by the entry point that received it (sync, or
    # in a worker thread on async paths), before anything is sent. Direct payload calls prepare
    # in the payload step. Prepared messages are `WireMessages` and pass later steps as they are.

    def _prepare_messages(self, messages: list[BaseMessage], model: str) -> WireMessages:
        prepared = prepare_messages(
            messages,
            policy=self.image_policy,
            tool_images=self.tool_images,
            refuse_images=self._image_refusal(model),
            fetch=remote_fetcher(self.remote_images, self.fetch_policy),
        )
        return WireMessages.of(prepared)

    async def _aprepare_messages(
        self, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> WireMessages:
        await self._awarm_catalog(kwargs)
        model = self._request_model(kwargs)
        # Image work decodes and re-encodes pixels: keep it off the event loop. Requests whose
        # images are all cached (or text only) skip the thread hop, which would cost more.
        return await prepare_off_loop(lambda: self._prepare_messages(messages, model))

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        # The one fragile point on langchain-core's internals (pinned by tests): core traces and
        # normalizes messages before `_generate`/`_stream` see them, and both steps crash on, or
        # lossily rewrite, some valid image shapes. Wrapping those blocks here (structural, no
        # decoding) lets them reach `prepare_messages` as written. Prepared messages hold only
        # wire parts, which core leaves alone.
        if isinstance(model_input, WireMessages):
            return ChatPromptValue(messages=list(model_input))
        messages = super()._convert_input(model_input).to_messages()
        return ChatPromptValue(messages=shield_from_core(messages))

    def _get_request_payload(
        self,
        input_: LanguageModelInput,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        # Every path to FlexAI builds its payload here, so no path can skip preparation: the entry
        # points below hand over prepared messages (for the counts, and off the event loop);
        # anything else (a direct call) is prepared here. The payload dict is then checked.
        if not isinstance(input_, WireMessages):
            messages = self._convert_input(input_).to_messages()
            input_ = self._prepare_messages(messages, self._request_model(kwargs))
        payload = payload_with_wire_parts(
            input_,
            lambda wire: super(ChatFlexAI, self)._get_request_payload(wire, stop=stop, **kwargs),
        )
        if self.check_capabilities is True:
            self._check_tool_choice(payload)
        check = self.check_capabilities  # n, reasoning_effort, thinking (`_transport._controls`)
        apply_controls(payload, self.thinking, lambda m: known_info(self._catalog(), m, check))
        return payload

    # -- results ---------------------------------------------------------------------------------

    def _create_chat_result(
        self,
        response: dict[str, Any] | openai.BaseModel,
        generation_info: dict[str, Any] | None = None,
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        usage = usage_of(response)
        for generation, reasoning in zip(
            result.generations, reasoning_of_choices(response), strict=False
        ):
            message = generation.message
            message.response_metadata["model_provider"] = PROVIDER
            add_cache_details(message, usage)
            if isinstance(reasoning, str) and isinstance(message, AIMessage):
                message.additional_kwargs["reasoning_content"] = reasoning
        if result.llm_output is not None:
            result.llm_output["model_provider"] = PROVIDER
        return result

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict[str, Any],
        default_chunk_class: type,
        base_generation_info: dict[str, Any] | None,
    ) -> ChatGenerationChunk | None:
        generation_chunk = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        if generation_chunk is None:
            return None
        message = generation_chunk.message
        message.response_metadata["model_provider"] = PROVIDER
        add_cache_details(message, usage_of(chunk))
        reasoning = reasoning_of_chunk(chunk)
        if reasoning and isinstance(message, AIMessageChunk):
            message.additional_kwargs["reasoning_content"] = reasoning
        return generation_chunk

    # -- the four entry points: prepare once, map FlexAI's errors (`_transport._stream`) ----------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        wire = self._prepare_messages(messages, self._request_model(kwargs))
        with self._errors(kwargs):
            result = super()._generate(wire, stop, run_manager, **kwargs)
        return with_image_stats(result, wire.stats)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        wire = await self._aprepare_messages(messages, kwargs)
        with self._errors(kwargs):
            result = await super()._agenerate(wire, stop, run_manager, **kwargs)
        return with_image_stats(result, wire.stats)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        wire = self._prepare_messages(messages, self._request_model(kwargs))
        guard = StreamGuard(wire.stats)
        with self._errors(kwargs, guard):
            for chunk in super()._stream(wire, stop, run_manager, **kwargs):
                yield guard.see(chunk)
        guard.finish(structured="response_format" in kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        wire = await self._aprepare_messages(messages, kwargs)
        guard = StreamGuard(wire.stats)
        with self._errors(kwargs, guard):
            async for chunk in super()._astream(wire, stop, run_manager, **kwargs):
                yield guard.see(chunk)
        guard.finish(structured="response_format" in kwargs)
