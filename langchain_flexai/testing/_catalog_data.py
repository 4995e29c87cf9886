"""The emulator's model catalog: what each emulated model is and how it behaves.

Knows the two catalog shapes FlexAI publishes (``GET /v1/models`` entries and the public
``GET /api/models`` array) and the per-model quirks the emulator reproduces (reasoning
content, forced tool calls declined, images refused or ignored by text-only models).
It knows nothing about HTTP or about how replies are computed.

The per-token price keys (``prompt`` / ``completion``) are this emulator's choice: FlexAI's
docs say the ``pricing`` object holds per-token prices as decimal strings plus the
``input_per_mtok`` / ``output_per_mtok`` floats, without naming the string keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

# A fixed timestamp keeps catalog responses byte-identical across runs.
_CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z

_BASE_PARAMETERS = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "stream",
    "stream_options",
)
_TOOL_PARAMETERS = ("tools", "tool_choice")
_EMBEDDING_PARAMETERS = ("encoding_format", "dimensions", "user")


@dataclass(frozen=True)
class CatalogModel:
    """One emulated model: its catalog fields and the behaviour the emulator gives it."""

    id: str
    """The value clients pass as ``model``."""
    name: str
    """Display name."""
    owned_by: str
    """Publisher, e.g. ``"microsoft"``."""
    hugging_face_id: str
    """The org-prefixed Hugging Face id (FlexAI does not accept it as ``model``)."""
    description: str
    category: str
    """``text``, ``code``, ``reasoning``, ``vision``, ..."""
    input_per_mtok: float
    """USD per million prompt tokens."""
    output_per_mtok: float
    """USD per million completion tokens."""
    supports: tuple[str, ...]
    """FlexAI capability tags (``vision`` marks a model that reads images)."""
    context_length: int = 131_072
    max_output_length: int = 8_192
    aliases: tuple[str, ...] = ()
    reasoning_content: bool = False
    """Replies carry ``message.reasoning_content`` / ``delta.reasoning_content``."""
    honours_forced_tool_choice: bool = True
    """False: a forced tool call is declined with ``400 tool_choice_not_honored``."""
    json_schema: bool = True
    """False: ``response_format`` ``json_schema`` is refused with a 400 naming it."""
    images_on_text_model: Literal["reject", "ignore"] = "reject"
    """What a text-only model does with images: 400, or 200 and ignore them."""
    dimensions: int | None = None
    """Embedding models (tag ``embeddings``): the length of their vectors."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Additional fields merged into both catalog entries."""
    cached_input_per_mtok: float | None = None
    """USD per million prompt tokens read from the prompt cache; None: the input price."""

    @property
    def vision(self) -> bool:
        """Whether the model reads images (it carries the ``vision`` tag)."""
        return "vision" in self.supports

    @property
    def supported_parameters(self) -> list[str]:
        """Request fields the model accepts, as ``/v1/models`` lists them."""
        if self.dimensions:
            return list(_EMBEDDING_PARAMETERS)
        params = list(_BASE_PARAMETERS)
        if "tool_use" in self.supports:
            params.extend(_TOOL_PARAMETERS)
        params.append("response_format")
        if "reasoning_effort" in self.supports:
            params.append("reasoning_effort")
        return params

    def pricing(self) -> dict[str, Any]:
        """The ``pricing`` object: per-token decimal strings and per-million floats."""
        million = Decimal(1_000_000)
        pricing: dict[str, Any] = {
            "prompt": format(Decimal(str(self.input_per_mtok)) / million, "f"),
            "completion": format(Decimal(str(self.output_per_mtok)) / million, "f"),
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
        }
        if self.cached_input_per_mtok is not None:
            pricing["cached_input_per_mtok"] = self.cached_input_per_mtok
        return pricing

    def cost_usd(self, prompt_tokens: int, completion_tokens: int, *, cached: int = 0) -> float:
        """What a completion costs in USD; ``cached`` of the prompt tokens at the cached price."""
        cached_price = self.cached_input_per_mtok
        cached_price = self.input_per_mtok if cached_price is None else cached_price
        return (
            (prompt_tokens - cached) * self.input_per_mtok
            + cached * cached_price
            + completion_tokens * self.output_per_mtok
        ) / 1_000_000

    def openai_entry(self, *, ready: bool = True) -> dict[str, Any]:
        """This model as an entry of ``GET /v1/models`` → ``data``."""
        return {
            "id": self.id,
            "object": "model",
            "created": _CREATED,
            "owned_by": self.owned_by,
            "context_length": self.context_length,
            "max_output_length": self.max_output_length,
            "pricing": self.pricing(),
            "hugging_face_id": self.hugging_face_id,
            "aliases": list(self.aliases),
            "name": self.name,
            "description": self.description,
            "supports": list(self.supports),
            "category": self.category,
            "input_modalities": ["text", "image"] if self.vision else ["text"],
            "output_modalities": ["text"],
            "supported_parameters": self.supported_parameters,
            "is_ready": ready,
            **self.extra,
        }

    def public_entry(self, *, health_status: str = "healthy") -> dict[str, Any]:
        """This model as an element of the public ``GET /api/models`` array."""
        return {
            "slug": self.id.lower(),
            "model_name": self.id,
            "display_name": self.name,
            "description": self.description,
            "category": self.category,
            "context_window": self.context_length,
            "max_output": self.max_output_length,
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "supports": list(self.supports),
            "pricing": self.pricing(),
            "health_status": health_status,
            "provider": self.owned_by,
            **self.extra,
        }


_VISION_TAGS = ("chat", "completion", "streaming", "tool_use", "vision", "image_input")

DEFAULT_CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        id="phi-4-multimodal-instruct",
        name="Phi-4 Multimodal Instruct",
        owned_by="microsoft",
        hugging_face_id="microsoft/Phi-4-multimodal-instruct",
        description="Small multimodal model for text and image understanding.",
        category="vision",
        input_per_mtok=0.05,
        output_per_mtok=0.10,
        supports=(*_VISION_TAGS, "structured_outputs"),
        max_output_length=4_096,
    ),
    CatalogModel(
        id="gemma-4-31b-it",
        name="Gemma 4 31B IT",
        owned_by="google",
        hugging_face_id="google/gemma-4-31b-it",
        description="Instruction-tuned Gemma 4 with image input.",
        category="vision",
        input_per_mtok=0.14,
        output_per_mtok=0.40,
        cached_input_per_mtok=0.035,
        supports=(*_VISION_TAGS, "structured_outputs", "reasoning", "hybrid_thinking"),
    ),
    CatalogModel(
        id="Qwen3.6-27B-FP8",
        name="Qwen3.6 27B (FP8)",
        owned_by="qwen",
        hugging_face_id="Qwen/Qwen3.6-27B-FP8",
        description="Dense Qwen 3.6 vision-language model, FP8 weights.",
        category="vision",
        input_per_mtok=0.20,
        output_per_mtok=0.60,
        supports=(*_VISION_TAGS, "structured_outputs", "code"),
        context_length=262_144,
    ),
    CatalogModel(
        id="Qwen3.5-9B",
        name="Qwen3.5 9B",
        owned_by="qwen",
        hugging_face_id="Qwen/Qwen3.5-9B",
        description="Compact Qwen 3.5 vision-language model.",
        category="vision",
        input_per_mtok=0.06,
        output_per_mtok=0.18,
        supports=(*_VISION_TAGS, "reasoning", "hybrid_thinking"),
        json_schema=False,
    ),
    CatalogModel(
        id="Muse-Glimmer-30B",
        name="Muse Glimmer 30B",
        owned_by="muse",
        hugging_face_id="muse-ai/Muse-Glimmer-30B",
        description="Vision model that answers in text; it declines forced tool calls.",
        category="vision",
        input_per_mtok=0.18,
        output_per_mtok=0.54,
        supports=_VISION_TAGS,
        honours_forced_tool_choice=False,
        json_schema=False,
    ),
    CatalogModel(
        id="DeepSeek-V4-Flash-0731",
        name="DeepSeek V4 Flash (0731)",
        owned_by="deepseek",
        hugging_face_id="deepseek-ai/DeepSeek-V4-Flash-0731",
        description="Fast text-only DeepSeek model.",
        category="text",
        input_per_mtok=0.27,
        output_per_mtok=1.10,
        supports=("chat", "completion", "streaming", "tool_use", "structured_outputs", "code"),
    ),
    CatalogModel(
        id="gpt-oss-120b",
        name="gpt-oss 120B",
        owned_by="openai",
        hugging_face_id="openai/gpt-oss-120b",
        description="Open-weight reasoning model; returns reasoning_content.",
        category="reasoning",
        input_per_mtok=0.09,
        output_per_mtok=0.45,
        supports=(
            "chat",
            "completion",
            "streaming",
            "tool_use",
            "structured_outputs",
            "reasoning",
            "reasoning_effort",
            "always_thinking",
        ),
        reasoning_content=True,
        images_on_text_model="ignore",
    ),
    CatalogModel(
        id="bge-m3",
        name="BGE-M3",
        owned_by="baai",
        hugging_face_id="BAAI/bge-m3",
        description="Multilingual text embedding model: 1024 dimensions, 8K context.",
        category="embedding",
        input_per_mtok=0.01,
        output_per_mtok=0.0,
        supports=("embeddings",),
        context_length=8_192,
        max_output_length=0,
        dimensions=1024,
    ),
)
"""The catalog an emulator serves unless given another one."""

DEFAULT_API_KEY = "fake-flexai-emulator-key"
"""The one key an emulator accepts unless told otherwise (it is no secret)."""
DEFAULT_MODEL = "phi-4-multimodal-instruct"
"""The model ``FlexAIEmulator.chat_model()`` uses unless told otherwise."""
