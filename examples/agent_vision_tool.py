"""A text-only agent that looks at images through FlexAIVisionTool.

The agent's own model reads no images; when a question depends on a picture it calls the tool,
which asks a FlexAI vision model. The tool may read only the files it was given.

A small middleware makes the agent look before it answers: the first model call must call the
tool (a forced tool choice), later calls choose freely. That also makes the run deterministic on
the offline emulator, which calls a tool only when forced and otherwise answers with text.

Run: python examples/agent_vision_tool.py
Needs: langchain-flexai[testing] (the offline emulator), langchain (create_agent)
"""

from _flexai import IMAGES, flexai
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import ToolMessage

from langchain_flexai import FlexAIVisionTool


class LookFirst(AgentMiddleware):
    """Force the vision tool on the first turn; let the model decide afterwards.

    A subclass, not the @wrap_model_call decorator on a plain function: that one serves only
    agent.invoke, and agent.ainvoke would raise NotImplementedError.
    """

    @staticmethod
    def force(request: ModelRequest) -> ModelRequest:
        if not any(isinstance(m, ToolMessage) for m in request.messages):
            return request.override(tool_choice="flexai_vision")
        return request

    def wrap_model_call(self, request: ModelRequest, handler) -> ModelResponse:
        return handler(self.force(request))

    async def awrap_model_call(self, request: ModelRequest, handler) -> ModelResponse:
        return await handler(self.force(request))


with flexai() as chat_model:
    vision = FlexAIVisionTool(
        model=chat_model(model="phi-4-multimodal-instruct"),
        allowed_dirs=[IMAGES],
        images=["sky.webp", "sunset.jpg", "leaf.png"],  # the model picks one of these
    )
    agent = create_agent(
        chat_model(model="DeepSeek-V4-Flash-0731"),  # a text-only model drives the agent
        tools=[vision],
        system_prompt="Answer questions about the user's photos. Look at a photo before answering.",
        middleware=[LookFirst()],
    )
    result = agent.invoke({"messages": [("user", "Is the sky in my photo cloudy?")]})
    for message in result["messages"]:
        print(f"--- {message.type}")
        print(message.text or message.tool_calls)
