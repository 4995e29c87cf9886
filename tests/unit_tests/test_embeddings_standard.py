"""langchain-tests' standard unit suite for FlexAIEmbeddings (pinned langchain-tests==1.1.9)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_flexai import FlexAIEmbeddings


class TestFlexAIEmbeddingsStandard(EmbeddingsUnitTests):
    """The standard unit tests, with FlexAI's env variables for the env-init test."""

    @property
    def embeddings_class(self) -> type[FlexAIEmbeddings]:
        return FlexAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "bge-m3"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "FLEXAI_API_KEY": "fake-env-key",
                "FLEXAI_API_BASE": "https://gateway.example.com/v1",
            },
            {"model": "bge-m3"},
            {
                "model": "bge-m3",
                "openai_api_key": "fake-env-key",
                "openai_api_base": "https://gateway.example.com/v1",
            },
        )
