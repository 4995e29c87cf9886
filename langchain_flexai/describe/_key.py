"""What decides a describe answer, as one resume-cache key: endpoint, model, prompt, settings.

Knows how to read, from a chat model, the server it talks to (its base URL, normalised; the
bundled emulator as the one identity ``"emulator"``) and the request settings that change an
answer (temperature, max_tokens, seed, top_p, stop, response format, reasoning effort, extra body
and model kwargs, the image policy and ``detail``), and how to fold them with the model id and the
prompt into a :class:`RequestIdentity` whose :attr:`~RequestIdentity.key` is a SHA-256, and the
image half of the resume key (:func:`resume_key`: the SHA-256 of the prepared bytes actually sent,
with the page number for a PDF page). Knows nothing about SQLite (``_describe_cache`` stores
rows) nor about scheduling.

Why each part: a cached answer is only the answer to *this* request if every input of the request
is the same. An answer written by the emulator must never come back in a run against FlexAI, a
``temperature=0`` answer is not a ``temperature=1`` one, and a ``max_tokens=16`` answer is cut.
Settings that only change how the answer travels (``stream``, timeouts, retries, the key) are
left out: they do not change the text.

The emulator: its port changes every run, so its base URL would make every run a cache miss. A
describer is told it talks to the emulator (``endpoint="emulator"``; the CLI's ``--emulator``
does that), or recognises it: a loopback base URL used with the emulator's default key
(``FlexAIEmulator().chat_model()``, ``python -m langchain_flexai.testing``). Any other loopback
server is keyed by its URL, port included: a different port may be a different server.

A PDF page is keyed by its page number and the SHA-256 of its rendered image as sent, not by the
file's hash: editing one page of a report then asks again for that page only (the others render
to the same bytes), a different policy (another size) asks again, and no two pages of a document
share a key, even blank ones that render alike.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from langchain_flexai._env import ALIAS_BASE_URL, DEFAULT_BASE_URL
from langchain_flexai.images._prepared import PreparedImage

EMULATOR_ENDPOINT = "emulator"
"""The endpoint identity of the bundled emulator, whatever port it listens on."""

EMULATOR_API_KEY = "fake-flexai-emulator-key"
"""``langchain_flexai.testing.DEFAULT_API_KEY``, repeated here so that describing never imports
the testing extra (a unit test checks the two agree)."""

FLEXAI_GATEWAY = DEFAULT_BASE_URL
_FLEXAI_ALIASES = frozenset({ALIAS_BASE_URL})
"""Base URLs that front the same FlexAI gateway: one endpoint identity, one cache."""

_USERINFO = re.compile(r"//[^/@]*@")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_TRANSPORT_ONLY = frozenset({"model", "stream"})
"""Request parameters that do not change the answer's text (the model id is a key part of its
own)."""


def resume_key(image: PreparedImage, page: int | None = None) -> str | None:
    """The image half of the resume key (None: the image is never cached).

    The SHA-256 of the image bytes; for an https URL, whose bytes are never fetched here, the
    SHA-256 of the URL text, prefixed ``url:`` (the same URL is not asked twice, even if the
    picture behind it changed). A rendered PDF page (``page``, 1-based) is ``page:<n>:`` then
    the SHA-256 of its bytes.
    """
    if image.sha256 is not None:
        return image.sha256 if page is None else f"page:{page}:{image.sha256}"
    if image.url.startswith("https://"):
        return "url:" + hashlib.sha256(image.url.encode()).hexdigest()
    return None


def prompt_key(prompt: str) -> str:
    """The hex SHA-256 of a prompt's UTF-8 text: prompts can be long, keys stay short."""
    return hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_base_url(base_url: str) -> str:
    """A base URL as one spelling, FlexAI's gateway aliases as one URL.

    Scheme and host are lower-cased; a default port, credentials, query, fragment and a trailing
    ``/`` are dropped. Credentials (``https://user:pass@host``) never reach the key: the cache
    file stores it.
    """
    text = base_url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or not parts.scheme or not parts.netloc:
        # Not a URL we can take apart: as written, minus anything that looks like credentials.
        return _USERINFO.sub("//", text).rstrip("/")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    url = f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    return FLEXAI_GATEWAY if url in _FLEXAI_ALIASES else url


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _api_key(model: BaseChatModel) -> str | None:
    key = getattr(model, "openai_api_key", None)
    if isinstance(key, SecretStr):
        return key.get_secret_value()
    return key if isinstance(key, str) else None


def endpoint_identity(model: BaseChatModel) -> str:
    """The server a model sends to: ``"emulator"``, a normalised base URL, or the model type.

    Models that name no base URL (not built on the openai SDK) are keyed by their LangChain type
    (``_llm_type``): the provider's default server.
    """
    for attribute in ("openai_api_base", "base_url", "api_base"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value.strip():
            if _is_loopback(value) and _api_key(model) == EMULATOR_API_KEY:
                return EMULATOR_ENDPOINT
            return normalise_base_url(value)
    if getattr(model, "root_client", None) is not None:
        return "https://api.openai.com/v1"  # the openai SDK's default base URL
    return f"llm_type:{model._llm_type}"  # noqa: SLF001 - the only identity a generic model has


def _json_ready(value: object) -> object:
    """A stable JSON form for setting values json cannot encode (schemas, dataclasses)."""
    if isinstance(value, SecretStr):
        return "**********"  # never a secret in the cache file
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__qualname__, **dataclasses.asdict(value)}
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return {"__schema__": value.model_json_schema()}  # a pydantic response schema
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    return repr(value)


def _canonical_json(settings: dict[str, Any]) -> str:
    try:
        return json.dumps(settings, sort_keys=True, separators=(",", ":"), default=_json_ready)
    except (TypeError, ValueError):
        # Keys json cannot sort (mixed types) or a cycle: a stable text all the same. A setting
        # that has no stable text only makes the cache miss, never answer for another request.
        return json.dumps(repr(sorted(settings.items(), key=lambda item: str(item[0]))))


def request_settings(model: BaseChatModel, detail: str | None) -> dict[str, Any]:
    """The request parameters of ``model`` that change an answer, plus ``detail`` and policy.

    For models built on langchain-openai this is ``_default_params`` (temperature, max_tokens,
    seed, top_p, stop, penalties, reasoning effort, ``extra_body``, ``model_kwargs`` such as a
    ``response_format``) without the transport-only ``stream``; for other models, their
    ``_identifying_params``.
    """
    params = getattr(model, "_default_params", None)
    if not isinstance(params, dict):
        params = dict(model._identifying_params)  # noqa: SLF001 - LangChain's own cache key parts
    settings = {k: v for k, v in params.items() if k not in _TRANSPORT_ONLY}
    policy = getattr(model, "image_policy", None)
    if policy is not None:
        # The chat model prepares images again under its own policy: another policy may send
        # other bytes than the ones the describer hashed.
        settings["image_policy"] = policy
    if detail is not None:
        settings["detail"] = detail
    return settings


@dataclass(frozen=True)
class RequestIdentity:
    """Everything but the image that decides an answer; :attr:`key` is its SHA-256."""

    endpoint: str
    model: str
    prompt_sha256: str
    settings_json: str
    """The settings as canonical JSON (sorted keys), stored with each row for inspection."""

    @classmethod
    def of(
        cls,
        model: BaseChatModel,
        model_id: str,
        prompt: str,
        *,
        detail: str | None = None,
        endpoint: str | None = None,
    ) -> RequestIdentity:
        """The identity of the requests ``model`` sends for ``prompt``.

        ``endpoint`` overrides the one read from the model.
        """
        settings = request_settings(model, detail)
        return cls(
            endpoint=endpoint if endpoint is not None else endpoint_identity(model),
            model=model_id,
            prompt_sha256=prompt_key(prompt),
            settings_json=_canonical_json(settings),
        )

    def to_json(self) -> str:
        """The whole identity as canonical JSON (what :attr:`key` hashes)."""
        return json.dumps(
            {
                "endpoint": self.endpoint,
                "model": self.model,
                "prompt_sha256": self.prompt_sha256,
                "settings": json.loads(self.settings_json),
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @cached_property
    def key(self) -> str:
        """Hex SHA-256 of :meth:`to_json`: the request half of the resume key."""
        return hashlib.sha256(self.to_json().encode("utf-8", "surrogatepass")).hexdigest()


def model_identity(model: BaseChatModel) -> str:
    """The model id used in the resume key (``model_name`` / ``model``, else the model type)."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type  # noqa: SLF001 - the only identity a generic chat model has
