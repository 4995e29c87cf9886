"""The catalog client against the bundled emulator's /api/models and /v1/models, over loopback."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from langchain_flexai.catalog._client import (
    CatalogWarning,
    FlexAICatalog,
    FlexAICatalogError,
    estimate_cost,
)
from langchain_flexai.catalog.capabilities import check_capabilities
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.testing import DEFAULT_CATALOG, CatalogModel, FlexAIEmulator

VISION_IDS = sorted((m.id for m in DEFAULT_CATALOG if m.vision), key=str.casefold)


def catalog_for(emulator: FlexAIEmulator, *, api_key: str | None = None) -> FlexAICatalog:
    return FlexAICatalog(base_url=emulator.base_url, api_key=api_key or emulator.api_key)


def test_vision_models_of_the_emulator(flexai_emulator: FlexAIEmulator) -> None:
    models = catalog_for(flexai_emulator).list_models(capability="vision")
    assert [info.id for info in models] == VISION_IDS
    assert all(info.sources == frozenset({"public", "v1"}) for info in models)
    paths = [(r.method, r.path) for r in flexai_emulator.requests]
    assert paths == [("GET", "/api/models"), ("GET", "/v1/models")]


def test_merged_record_matches_the_emulated_model(flexai_emulator: FlexAIEmulator) -> None:
    phi = catalog_for(flexai_emulator).get_model("phi-4-multimodal-instruct")
    source = next(m for m in DEFAULT_CATALOG if m.id == "phi-4-multimodal-instruct")
    assert phi.name == source.name
    assert phi.context_window == source.context_length
    assert phi.max_output == source.max_output_length
    assert (phi.input_per_mtok, phi.output_per_mtok) == (
        source.input_per_mtok,
        source.output_per_mtok,
    )
    assert phi.hugging_face_id == source.hugging_face_id
    assert phi.health == "healthy"
    assert phi.is_ready is True
    assert phi.input_modalities == ("text", "image")
    assert phi.capabilities == frozenset(source.supports)


def test_public_list_is_read_without_the_key(flexai_emulator: FlexAIEmulator) -> None:
    catalog_for(flexai_emulator).list_models()
    public, keyed = flexai_emulator.requests
    assert "authorization" not in public.headers
    assert keyed.headers["authorization"] == "<redacted>"


def test_wrong_key_falls_back_to_the_public_list(flexai_emulator: FlexAIEmulator) -> None:
    catalog = catalog_for(flexai_emulator, api_key="fake-wrong-key")
    with pytest.warns(CatalogWarning, match=r"/v1/models: HTTP 401") as record:
        models = catalog.list_models("vision")
    assert "fake-wrong-key" not in str(record[0].message)
    assert [info.id for info in models] == VISION_IDS
    assert all(info.sources == frozenset({"public"}) for info in models)


async def test_async_listing(flexai_emulator: FlexAIEmulator) -> None:
    catalog = catalog_for(flexai_emulator)
    models = await catalog.alist_models("vision")
    assert [info.id for info in models] == VISION_IDS
    info = await catalog.aget_model("qwen3.6-27b-fp8")
    assert info.id == "Qwen3.6-27B-FP8"


def test_aliases_and_maintenance() -> None:
    model = CatalogModel(
        id="phi-4-multimodal-instruct",
        name="Phi-4",
        owned_by="microsoft",
        hugging_face_id="microsoft/Phi-4-multimodal-instruct",
        description="",
        category="vision",
        input_per_mtok=0.05,
        output_per_mtok=0.1,
        supports=("chat", "vision"),
        aliases=("phi4mm",),
    )
    with FlexAIEmulator(catalog=[model], maintenance=["phi-4-multimodal-instruct"]) as emulator:
        info = catalog_for(emulator).get_model("PHI4MM")
    assert info.id == "phi-4-multimodal-instruct"
    assert (info.health, info.is_ready) == ("maintenance", False)


def test_server_down_gives_a_clear_error() -> None:
    with FlexAIEmulator() as emulator:
        base_url = emulator.base_url
    catalog = FlexAICatalog(base_url=base_url, api_key="fake-test-key", timeout=2)
    with pytest.raises(FlexAICatalogError) as info:
        catalog.list_models()
    message = str(info.value)
    assert message.startswith(
        f"Could not read FlexAI's model catalog from {base_url[:-3]}/api/models: "
    )
    assert "ConnectError" in message
    assert "fake-test-key" not in message


def test_image_to_a_text_model_fails_before_any_request(flexai_emulator: FlexAIEmulator) -> None:
    catalog = catalog_for(flexai_emulator)
    text_model = catalog.get_model("DeepSeek-V4-Flash-0731")
    payload = {
        "model": text_model.id,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            }
        ],
    }
    with pytest.raises(ImageInputError) as info:
        check_capabilities(
            payload,
            model_info=text_model,
            on_forced_tool_decline="raise",
            alternatives=[m.id for m in catalog.list_models("vision")],
        )
    assert info.value.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
    assert ", ".join(VISION_IDS[:5]) in str(info.value)
    assert [r.path for r in flexai_emulator.requests] == ["/api/models", "/v1/models"]


async def test_chat_model_refuses_images_to_a_text_only_model_by_default(
    flexai_emulator: FlexAIEmulator,
) -> None:
    # DeepSeek-V4-Flash-0731 is listed as text-only by the static table: refused with no request
    # at all, not even to the catalog, on the real HTTP stack.
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    message = HumanMessage(content=[{"type": "text", "text": "what is this?"}, image])
    text_model = flexai_emulator.chat_model(model="DeepSeek-V4-Flash-0731")
    with pytest.raises(ImageInputError) as info:
        await text_model.ainvoke([message])
    assert info.value.reason is ImageErrorReason.IMAGE_NOT_ALLOWED
    with pytest.raises(ImageInputError):
        list(text_model.stream([message]))
    assert flexai_emulator.requests == []

    reply = await text_model.ainvoke("hello")  # text goes through
    assert "1 text part" in str(reply.content)
    assert [r.path for r in flexai_emulator.requests] == ["/v1/chat/completions"]


def test_estimate_cost_with_the_emulator_prices(flexai_emulator: FlexAIEmulator) -> None:
    catalog = catalog_for(flexai_emulator)
    estimate = estimate_cost([HumanMessage("hello")], "gpt-oss-120b", catalog=catalog)
    assert estimate.input_per_mtok == 0.09
    assert estimate.input_cost == pytest.approx(estimate.prompt_tokens * 0.09 / 1e6)
