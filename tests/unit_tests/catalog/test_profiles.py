"""ModelProfiles: the small static table and the catalog mapping."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.language_models.model_profile import ModelProfile

from langchain_flexai.catalog._client import FlexAICatalog, ModelInfo
from langchain_flexai.catalog.profiles import (
    VISION_MODELS,
    profile_for,
    profile_from_model_info,
    refresh_profile,
    suggest_models,
)


class TestStatic:
    def test_default_model_reads_images(self) -> None:
        assert profile_for("phi-4-multimodal-instruct") == ModelProfile(
            name="phi-4-multimodal-instruct",
            text_inputs=True,
            image_inputs=True,
            image_url_inputs=True,
            image_tool_message=True,
            pdf_inputs=True,
            pdf_tool_message=True,
            audio_inputs=False,
            video_inputs=False,
            text_outputs=True,
        )

    def test_case_insensitive_and_text_only_models(self) -> None:
        gemma = profile_for("GEMMA-4-31B-IT")
        assert gemma is not None
        assert gemma["name"] == "gemma-4-31b-it"
        assert gemma["image_inputs"] is True
        oss = profile_for("gpt-oss-120b")
        assert oss is not None
        assert (oss["image_inputs"], oss["reasoning_output"]) == (False, True)
        assert (oss["pdf_inputs"], oss["pdf_tool_message"]) == (False, False)

    def test_unknown_model(self) -> None:
        assert profile_for("not-a-model") is None

    def test_returned_profiles_are_copies(self) -> None:
        first = profile_for("Qwen3.5-9B")
        assert first is not None
        first["image_inputs"] = False
        second = profile_for("Qwen3.5-9B")
        assert second is not None
        assert second["image_inputs"] is True

    def test_table_stays_small(self) -> None:
        # Token limits and prices come from the catalog, not from a hand-kept table.
        assert len(VISION_MODELS) < 20
        for name in VISION_MODELS:
            profile = profile_for(name)
            assert profile is not None
            assert "max_input_tokens" not in profile


class TestFromModelInfo:
    def test_full_record(self) -> None:
        info = ModelInfo(
            id="phi-4-multimodal-instruct",
            name="Phi-4 Multimodal Instruct",
            capabilities=frozenset({"chat", "vision", "tool_use", "structured_outputs"}),
            input_modalities=("text", "image"),
            output_modalities=("text",),
            context_window=131072,
            max_output=4096,
            supported_parameters=frozenset({"tools", "tool_choice", "temperature"}),
        )
        assert profile_from_model_info(info) == ModelProfile(
            name="Phi-4 Multimodal Instruct",
            text_inputs=True,
            image_inputs=True,
            image_url_inputs=True,
            image_tool_message=True,
            pdf_inputs=True,
            pdf_tool_message=True,
            audio_inputs=False,
            video_inputs=False,
            text_outputs=True,
            image_outputs=False,
            max_input_tokens=131072,
            max_output_tokens=4096,
            tool_calling=True,
            tool_choice=True,
            temperature=True,
            structured_output=True,
            reasoning_output=False,
        )

    def test_sparse_record_leaves_unknowns_out(self) -> None:
        info = ModelInfo(id="gpt-oss-120b", name="gpt-oss", capabilities=frozenset({"reasoning"}))
        profile = profile_from_model_info(info)
        assert profile["image_inputs"] is False
        assert profile["reasoning_output"] is True
        assert profile["tool_calling"] is False
        for unknown in ("max_input_tokens", "max_output_tokens", "tool_choice", "temperature"):
            assert unknown not in profile

    def test_tools_without_tool_choice(self) -> None:
        info = ModelInfo(
            id="m",
            name="m",
            capabilities=frozenset({"tool_use"}),
            supported_parameters=frozenset({"tools"}),
        )
        profile = profile_from_model_info(info)
        assert (profile["tool_calling"], profile["tool_choice"]) == (True, False)


def test_refresh_profile_merges_static_and_catalog() -> None:
    catalog = FlexAICatalog.from_models(
        [
            ModelInfo(
                id="gemma-4-31b-it",
                name="Gemma 4 31B IT",
                capabilities=frozenset({"vision", "tool_use"}),
                context_window=262144,
                aliases=("gemma4",),
            )
        ]
    )
    profile = refresh_profile("gemma4", catalog=catalog)
    assert profile["name"] == "Gemma 4 31B IT"
    assert profile["max_input_tokens"] == 262144
    assert profile["image_inputs"] is True
    assert profile["tool_calling"] is True


def test_refresh_profile_reads_the_live_catalog() -> None:
    entry = {"id": "Qwen3.5-9B", "supports": ["vision"], "context_length": 65536}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [entry]})
        return httpx.Response(200, json=[])

    catalog = FlexAICatalog(
        api_key="fake-profile-key",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    assert refresh_profile("qwen3.5-9b", catalog=catalog)["max_input_tokens"] == 65536


class TestSuggestModels:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("gemma-4-31b", ["gemma-4-31b-it", "gemma-4-26B-A4B-it"]),  # truncated
            ("GEMMA-4-31B-IT", ["gemma-4-31b-it"]),  # another case
            ("google/gemma-4-31b-it", ["gemma-4-31b-it"]),  # the Hugging Face id
            ("microsoft/Phi-4-multimodal-instruct", ["phi-4-multimodal-instruct"]),
            ("qwen3.6-27b", ["Qwen3.6-27B-FP8", "Qwen3.8-27B", "Qwen3.5-9B"]),
            ("gpt-oss-12b", ["gpt-oss-120b"]),  # a typo
            ("gemma-4-31b-it", []),  # the exact id: nothing better to offer
            ("", []),
            ("   ", []),
            ("completely-different", []),
        ],
    )
    def test_from_the_static_table(self, name: str, expected: list[str]) -> None:
        assert suggest_models(name) == expected

    def test_from_a_fetched_catalog_without_fetching(self) -> None:
        requests: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            entry = {
                "id": "acme-vl-8b",
                "hugging_face_id": "acme/Acme-VL-8B-Instruct",
                "aliases": ["acmevl"],
            }
            if request.url.path == "/v1/models":
                return httpx.Response(200, json={"object": "list", "data": [entry]})
            return httpx.Response(200, json=[])

        catalog = FlexAICatalog(
            api_key="fake-profile-key",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        assert suggest_models("acme/Acme-VL-8B-Instruct", catalog=catalog) == []  # not fetched
        assert requests == []
        catalog.list_models()
        assert suggest_models("acme/Acme-VL-8B-Instruct", catalog=catalog) == ["acme-vl-8b"]
        assert suggest_models("ACMEVL", catalog=catalog) == ["acme-vl-8b"]
        assert suggest_models("acme-vl-8", catalog=catalog) == ["acme-vl-8b"]
        assert suggest_models("gpt-oss-12b", catalog=catalog) == ["gpt-oss-120b"]  # both sources
        assert len(requests) == 2
