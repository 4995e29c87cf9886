"""A tool that returns an image (a "screenshot"), which the vision model then sees.

`tool_image_content` builds the tool's result: a caption and the image. LangChain puts it into
the ToolMessage; ChatFlexAI moves the image into a user message right after the tool results
(FlexAI's vision models read images only there), marked as tool output to be treated as data.

Run: python examples/screenshot_tool.py
Needs: langchain-flexai[testing] (the offline emulator), langchain (create_agent)
"""

from _flexai import flexai
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from PIL import Image, ImageDraw

from langchain_flexai import tool_image_content


def draw_screenshot() -> Image.Image:
    """Stand-in for a real screen grab: a white app window with a red error banner."""
    screen = Image.new("RGB", (320, 200), "white")
    draw = ImageDraw.Draw(screen)
    draw.rectangle([0, 0, 319, 24], fill=(60, 60, 70))
    draw.text((8, 6), "Invoices - Billing app", fill="white")
    draw.rectangle([16, 40, 303, 70], fill=(200, 40, 40))
    draw.text((24, 50), "Error 502: payment service unavailable", fill="white")
    return screen


@tool
def take_screenshot() -> list[dict]:
    """Take a screenshot of the billing app's window."""
    return tool_image_content(draw_screenshot(), "Screenshot of the billing app (320x200)")


class ScreenshotFirst(AgentMiddleware):
    """Take the screenshot on the first turn; answer from it afterwards (sync and async)."""

    @staticmethod
    def force(request: ModelRequest) -> ModelRequest:
        if not any(isinstance(m, ToolMessage) for m in request.messages):
            return request.override(tool_choice="take_screenshot")
        return request

    def wrap_model_call(self, request: ModelRequest, handler) -> ModelResponse:
        return handler(self.force(request))

    async def awrap_model_call(self, request: ModelRequest, handler) -> ModelResponse:
        return await handler(self.force(request))


with flexai() as chat_model:
    agent = create_agent(
        chat_model(model="phi-4-multimodal-instruct"),  # a vision model reads the screenshot
        tools=[take_screenshot],
        middleware=[ScreenshotFirst()],
    )
    result = agent.invoke({"messages": [("user", "Why can't I pay my invoice? Check the app.")]})
    tool_message = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    print("tool returned:", [block["type"] for block in tool_message.content])
    print("answer:")
    print(result["messages"][-1].text)
