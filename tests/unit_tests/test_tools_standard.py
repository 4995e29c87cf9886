"""LangChain's standard unit suite for FlexAIVisionTool (construction and schema; no requests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_flexai import ChatFlexAI, FlexAIVisionTool

IMAGES = Path(__file__).resolve().parents[2] / "examples" / "images"


class TestFlexAIVisionToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return FlexAIVisionTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {
            "model": ChatFlexAI(api_key="fake-test-key"),
            "allowed_dirs": [str(IMAGES)],
        }

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"image": "sunset.jpg", "question": "What colour is the sky?"}
