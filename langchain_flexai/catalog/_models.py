"""FlexAI's two model lists, parsed and merged into one typed record per model: pure functions.

Knows the documented shapes of ``GET /api/models`` (public: a bare JSON array of entries with
``model_name``, ``supports``, ``context_window``, ``health_status`` ...) and ``GET /v1/models``
(keyed: ``{"object": "list", "data": [...]}`` with ``id``, ``aliases``, ``context_length``,
``supported_parameters``, ``is_ready`` ...). Parsing is lenient the way a client of a living API
must be: a missing field becomes ``None``, a field of the wrong type is ignored, unknown fields are
kept in ``extra``, an entry without a model id is skipped. Only a payload of the wrong overall shape
is an error.

Knows nothing about HTTP, caching or tokens (catalog.py does the fetching).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from langchain_flexai.errors import FlexAICatalogError, ModelNotFoundError

VISION_TAGS = frozenset({"vision", "image_input"})
"""``supports`` tags that mean a model reads images."""

_PUBLIC_KNOWN = frozenset(
    {
        "slug",
        "model_name",
        "display_name",
        "description",
        "category",
        "context_window",
        "max_output",
        "input_per_mtok",
        "output_per_mtok",
        "supports",
        "pricing",
        "health_status",
        "provider",
    }
)
_V1_KNOWN = frozenset(
    {
        "id",
        "object",
        "created",
        "owned_by",
        "context_length",
        "max_output_length",
        "pricing",
        "hugging_face_id",
        "aliases",
        "name",
        "description",
        "supports",
        "category",
        "input_modalities",
        "output_modalities",
        "supported_parameters",
        "is_ready",
    }
)
_PER_TOKEN = Decimal(1_000_000)


@dataclass(frozen=True)
class ModelInfo:
    """One FlexAI model as both catalog endpoints describe it.

    Attributes:
        id: The value to pass as ``model``.
        name: Human-readable name (``display_name`` / ``name``); the id when absent.
        description: Free text from the catalog.
        category: ``text``, ``vision``, ``reasoning``, ``code``, ``embedding``, ...
        capabilities: The ``supports`` tags (``vision``, ``tool_use``, ``structured_outputs``...).
        input_modalities: e.g. ``("text", "image")``; empty when not reported.
        output_modalities: e.g. ``("text",)``; empty when not reported.
        context_window: Maximum prompt plus output tokens, if reported.
        max_output: Maximum output tokens, if reported.
        input_per_mtok: Price per million prompt tokens, if reported.
        output_per_mtok: Price per million completion tokens, if reported.
        cached_input_per_mtok: Price per million prompt tokens read from FlexAI's prompt cache
            (``pricing.cached_input_per_mtok``), if reported; else they cost ``input_per_mtok``.
        health: ``health_status`` from the public list (``"healthy"``; others undocumented).
        is_ready: ``is_ready`` from ``/v1/models``.
        aliases: Other names the gateway accepts for this model.
        hugging_face_id: The org-prefixed Hugging Face id, if reported.
        supported_parameters: Request fields the model honours; ``None`` when not reported.
        provider: ``provider`` / ``owned_by``.
        slug: The public list's slug.
        sources: Which endpoints described the model: ``"public"``, ``"v1"``.
        extra: Fields neither endpoint documents, kept as received.
    """

    id: str
    name: str
    description: str | None = None
    category: str | None = None
    capabilities: frozenset[str] = frozenset()
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()
    context_window: int | None = None
    max_output: int | None = None
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    health: str | None = None
    is_ready: bool | None = None
    aliases: tuple[str, ...] = ()
    hugging_face_id: str | None = None
    supported_parameters: frozenset[str] | None = None
    provider: str | None = None
    slug: str | None = None
    sources: frozenset[str] = frozenset()
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    cached_input_per_mtok: float | None = None

    @property
    def vision(self) -> bool:
        """Whether the catalog says the model reads images."""
        return bool(self.capabilities & VISION_TAGS) or "image" in self.input_modalities

    def supports(self, capability: str) -> bool:
        """Whether ``capability`` is one of the model's ``supports`` tags (``vision`` as above)."""
        if capability == "vision":
            return self.vision
        return capability in self.capabilities

    def names(self) -> tuple[str, ...]:
        """Every name this model answers to: id, aliases, slug, Hugging Face id."""
        extra = (self.slug, self.hugging_face_id)
        return (self.id, *self.aliases, *(name for name in extra if name))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    # bool is an int subclass: a `true` where a number belongs is not a number.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    if isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            return None
        return float(parsed) if parsed.is_finite() and parsed >= 0 else None
    return None


def _per_token_to_mtok(value: object) -> float | None:
    """A per-token price given as a decimal string (or number), as a per-million price."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        return None
    return float(parsed * _PER_TOKEN) if parsed.is_finite() and parsed >= 0 else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _prices(entry: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Prices per million tokens: explicit ``*_per_mtok`` first, then ``pricing`` per token."""
    pricing = entry.get("pricing")
    pricing = pricing if isinstance(pricing, Mapping) else {}
    input_price = _float(entry.get("input_per_mtok"))
    if input_price is None:
        input_price = _float(pricing.get("input_per_mtok"))
    if input_price is None:
        input_price = _per_token_to_mtok(pricing.get("prompt", pricing.get("input")))
    output_price = _float(entry.get("output_per_mtok"))
    if output_price is None:
        output_price = _float(pricing.get("output_per_mtok"))
    if output_price is None:
        output_price = _per_token_to_mtok(pricing.get("completion", pricing.get("output")))
    return input_price, output_price


def _cached_price(entry: Mapping[str, Any]) -> float | None:
    """``cached_input_per_mtok`` at the top or in ``pricing`` (docs/flexai_api.md: "Usage")."""
    pricing = entry.get("pricing")
    pricing = pricing if isinstance(pricing, Mapping) else {}
    price = _float(entry.get("cached_input_per_mtok"))
    return price if price is not None else _float(pricing.get("cached_input_per_mtok"))


def _entries(payload: object, *, where: str) -> list[Mapping[str, Any]]:
    if isinstance(payload, Mapping) and isinstance(payload.get("data"), list):
        payload = payload["data"]
    if not isinstance(payload, list):
        raise FlexAICatalogError(
            f"{where} did not answer with a list of models (got {type(payload).__name__})"
        )
    return [entry for entry in payload if isinstance(entry, Mapping)]


def parse_public_models(payload: object) -> list[ModelInfo]:
    """Parse the answer of the public ``GET /api/models`` (a bare JSON array).

    Raises:
        FlexAICatalogError: The payload is not a list of entries.
    """
    models = []
    for entry in _entries(payload, where="/api/models"):
        model_id = _str(entry.get("model_name")) or _str(entry.get("slug"))
        if model_id is None:
            continue
        input_price, output_price = _prices(entry)
        models.append(
            ModelInfo(
                id=model_id,
                name=_str(entry.get("display_name")) or model_id,
                description=_str(entry.get("description")),
                category=_str(entry.get("category")),
                capabilities=frozenset(_strings(entry.get("supports"))),
                context_window=_int(entry.get("context_window")),
                max_output=_int(entry.get("max_output")),
                input_per_mtok=input_price,
                output_per_mtok=output_price,
                health=_str(entry.get("health_status")),
                provider=_str(entry.get("provider")),
                slug=_str(entry.get("slug")),
                sources=frozenset({"public"}),
                extra={k: v for k, v in entry.items() if k not in _PUBLIC_KNOWN},
                cached_input_per_mtok=_cached_price(entry),
            )
        )
    return models


def parse_v1_models(payload: object) -> list[ModelInfo]:
    """Parse the answer of the keyed ``GET /v1/models`` (``{"object": "list", "data": [...]}``).

    Raises:
        FlexAICatalogError: The payload is not a list of entries.
    """
    models = []
    for entry in _entries(payload, where="/v1/models"):
        model_id = _str(entry.get("id"))
        if model_id is None:
            continue
        input_price, output_price = _prices(entry)
        params = entry.get("supported_parameters")
        is_ready = entry.get("is_ready")
        models.append(
            ModelInfo(
                id=model_id,
                name=_str(entry.get("name")) or model_id,
                description=_str(entry.get("description")),
                category=_str(entry.get("category")),
                capabilities=frozenset(_strings(entry.get("supports"))),
                input_modalities=_strings(entry.get("input_modalities")),
                output_modalities=_strings(entry.get("output_modalities")),
                context_window=_int(entry.get("context_length")),
                max_output=_int(entry.get("max_output_length")),
                input_per_mtok=input_price,
                output_per_mtok=output_price,
                is_ready=is_ready if isinstance(is_ready, bool) else None,
                aliases=_strings(entry.get("aliases")),
                hugging_face_id=_str(entry.get("hugging_face_id")),
                supported_parameters=(
                    frozenset(_strings(params)) if isinstance(params, list) else None
                ),
                provider=_str(entry.get("owned_by")),
                sources=frozenset({"v1"}),
                extra={k: v for k, v in entry.items() if k not in _V1_KNOWN},
                cached_input_per_mtok=_cached_price(entry),
            )
        )
    return models


def _merge_pair(public: ModelInfo, keyed: ModelInfo) -> ModelInfo:
    """One record from both views: the keyed list wins on fields both report, except health."""
    return replace(
        keyed,
        name=keyed.name if keyed.name != keyed.id else public.name,
        description=keyed.description or public.description,
        category=keyed.category or public.category,
        capabilities=keyed.capabilities | public.capabilities,
        context_window=keyed.context_window or public.context_window,
        max_output=keyed.max_output or public.max_output,
        input_per_mtok=(
            keyed.input_per_mtok if keyed.input_per_mtok is not None else public.input_per_mtok
        ),
        output_per_mtok=(
            keyed.output_per_mtok if keyed.output_per_mtok is not None else public.output_per_mtok
        ),
        cached_input_per_mtok=(
            keyed.cached_input_per_mtok
            if keyed.cached_input_per_mtok is not None
            else public.cached_input_per_mtok
        ),
        health=public.health,
        provider=keyed.provider or public.provider,
        slug=public.slug,
        sources=keyed.sources | public.sources,
        extra={**public.extra, **keyed.extra},
    )


def merge_models(public: Iterable[ModelInfo], keyed: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Merge the two lists into one record per model, sorted by id (case-insensitively).

    A public entry joins a keyed one when its id matches the keyed id or one of its aliases.
    """
    merged: dict[str, ModelInfo] = {}
    by_name: dict[str, str] = {}
    for info in keyed:
        merged[info.id.casefold()] = info
        for name in (info.id, *info.aliases):
            by_name.setdefault(name.casefold(), info.id.casefold())
    for info in public:
        key = by_name.get(info.id.casefold())
        if key is None:
            merged.setdefault(info.id.casefold(), info)
        else:
            merged[key] = _merge_pair(info, merged[key])
    return sorted(merged.values(), key=lambda info: info.id.casefold())


def build_index(models: Iterable[ModelInfo]) -> dict[str, ModelInfo]:
    """Map every name a model answers to (casefolded) to its record; ids win over aliases."""
    models = list(models)
    index: dict[str, ModelInfo] = {}
    for info in models:
        for name in info.names()[1:]:
            index.setdefault(name.casefold(), info)
    for info in models:
        index[info.id.casefold()] = info
    return index


def not_found(name: str, index: Mapping[str, ModelInfo]) -> ModelNotFoundError:
    """The error for an unknown model name, with the closest known ids as suggestions."""
    ids = sorted({info.id for info in index.values()})
    folded = {model_id.casefold(): model_id for model_id in ids}
    close = [
        folded[match]
        for match in difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.5)
    ]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ModelNotFoundError(
        f"FlexAI's catalog has no model named {name!r} ({len(ids)} models listed).{hint}"
    )
