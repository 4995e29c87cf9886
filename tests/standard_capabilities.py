"""What ChatFlexAI supports, stated once for langchain-tests' unit and integration suites."""

from __future__ import annotations

from langchain_flexai import ChatFlexAI


class FlexAICapabilities:
    """The standard suites' capability properties; mixed in ahead of the suite's base class."""

    @property
    def chat_model_class(self) -> type[ChatFlexAI]:
        return ChatFlexAI

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        # Each page is rendered to an image, after a label naming the page (docs/pdf.md).
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        # A PDF a tool returns is moved, as its pages, into a user message (tool_images).
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        # Anthropic image sources, cache_control, tool_use and thinking blocks in history are
        # all mapped by ChatFlexAI's content step (docs/images.md rows 13 and 30).
        return True
