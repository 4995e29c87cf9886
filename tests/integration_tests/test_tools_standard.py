"""LangChain's standard integration suite for FlexAIVisionTool, plus what the tool sends.

Against the emulator by default (live FlexAI with FLEXAI_API_KEY): the standard tests invoke the
tool with and without a ToolCall, sync and async; the checks below assert the request that
reached the server carried the image the tool was asked about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests

from langchain_flexai import ChatFlexAI, FlexAIVisionTool
from tests.integration_tests import _target

IMAGES = Path(__file__).resolve().parents[2] / "examples" / "images"


def vision_tool(**kwargs: Any) -> FlexAIVisionTool:
    target = _target.current()
    model = ChatFlexAI(model=target.vision_model, api_key=target.api_key, base_url=target.base_url)
    return FlexAIVisionTool(model=model, allowed_dirs=[str(IMAGES)], **kwargs)


class TestFlexAIVisionToolIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return vision_tool()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"image": "note-rotated.jpg", "question": "What colour is this note?"}


@pytest.mark.skipif(_target.LIVE, reason="checks the emulator's exact answers")
class TestWhatTheToolSends:
    def test_the_image_arrives_upright(self) -> None:
        emulator = _target.current().emulator
        assert emulator is not None
        emulator.clear_requests()
        answer = vision_tool().invoke({"image": "note-rotated.jpg", "question": "Colour?"})
        assert answer == (
            "Received 1 message with 1 text part and 1 image.\nImage 1: JPEG 96x160, yellow."
        )
        (request,) = [r for r in emulator.requests if r.path == "/v1/chat/completions"]
        assert request.body["messages"][0]["content"][0] == {"type": "text", "text": "Colour?"}
        assert request.image_urls[0].startswith("data:image/jpeg;base64,")

    async def test_forced_call_with_image_choices_runs_end_to_end(self) -> None:
        tool = vision_tool(images=["sky.webp", "leaf.png"])
        target = _target.current()
        caller = ChatFlexAI(
            model=target.vision_model, api_key=target.api_key, base_url=target.base_url
        ).bind_tools([tool], tool_choice=tool.name)
        call = (await caller.ainvoke("What is in the sky picture?")).tool_calls[0]
        # The emulator fills a forced call from the schema: the first listed image.
        assert call["args"] == {"image": "sky.webp", "question": "question"}
        message = await tool.ainvoke({**call, "type": "tool_call"})
        assert isinstance(message, ToolMessage)
        assert message.content.endswith("Image 1: WEBP 160x100, blue.")
