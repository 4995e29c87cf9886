"""langchain-tests' standard unit suite for ChatFlexAI (pinned langchain-tests==1.1.9)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from tests.standard_capabilities import FlexAICapabilities

_CLASS_PATH = ("langchain_flexai", "chat_models", "ChatFlexAI")


class TestChatFlexAIStandard(FlexAICapabilities, ChatModelUnitTests):
    """The standard unit tests, with FlexAI's env variables for the env-init and serdes tests."""

    @pytest.fixture(autouse=True)
    def _trust_chat_flexai_for_load(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The suite's serdes test loads with allowed_objects="all", which means "every class
        # langchain-core's own mapping lists"; partners outside that list (ours) are refused.
        # Users pass allowed_objects=[ChatFlexAI] (tested in test_chat_models.py); here we list
        # the class for the duration of a test so the standard test runs unmodified.
        load_module = importlib.import_module("langchain_core.load.load")
        monkeypatch.setitem(load_module.ALL_SERIALIZABLE_MAPPINGS, _CLASS_PATH, _CLASS_PATH)
        monkeypatch.setattr(load_module, "_default_class_paths_cache", {})

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "phi-4-multimodal-instruct", "temperature": 0}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "FLEXAI_API_KEY": "fake-env-key",
                "FLEXAI_API_BASE": "https://gateway.example.com/v1",
            },
            {"model": "phi-4-multimodal-instruct"},
            {
                "openai_api_key": "fake-env-key",
                "openai_api_base": "https://gateway.example.com/v1",
            },
        )
