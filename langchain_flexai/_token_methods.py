"""LangChain's token-counting methods for ``ChatFlexAI``, answered offline.

Knows which of ``BaseChatModel``'s methods count tokens and how each maps onto
:mod:`langchain_flexai.tokens` (text by a documented rule of thumb, images by the model family's
arithmetic after the model's image policy). A mixin, so ``chat_models.py`` keeps the FlexAI
protocol alone; knows nothing about requests, errors or the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_flexai.tokens import count_message_tokens, estimate_text_tokens, text_token_ids

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from langchain_flexai.content import ToolImages
    from langchain_flexai.images._policy import ImagePolicy

__all__ = ["OfflineTokenCounts"]


class OfflineTokenCounts:
    """``get_num_tokens``, ``get_token_ids`` and ``get_num_tokens_from_messages``, offline."""

    if TYPE_CHECKING:  # the chat model's own fields (not redeclared: pydantic owns them)
        custom_get_token_ids: Callable[[str], list[int]] | None
        model_name: str
        image_policy: ImagePolicy | None
        tool_images: ToolImages

    def get_num_tokens(self, text: str) -> int:
        """Estimate the tokens in `text` offline (no tokenizer download): see docs/catalog.md."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return estimate_text_tokens(text)

    def get_token_ids(self, text: str) -> list[int]:
        """Stand-in token ids for `text`, offline: one per 4 UTF-8 bytes (not the model's ids).

        FlexAI's models have their own vocabularies and no tokenizer is downloaded, so each id
        is the value of a 4-byte slice of the text: `len(get_token_ids(t)) == get_num_tokens(t)`,
        equal texts give equal ids. `custom_get_token_ids` is honoured when set.
        """
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return text_token_ids(text)

    def get_num_tokens_from_messages(
        self,
        messages: Sequence[BaseMessage],
        tools: Sequence[Any] | None = None,
        **_: Any,
    ) -> int:
        """Estimate the prompt tokens of `messages` on this model, without network access.

        Text by a documented approximation; images by the model family's own preprocessing
        arithmetic (Phi-4-multimodal crops, Qwen-VL patch grid, Gemma), from the image header
        after this model's `image_policy` downscaling. https images are never fetched.
        """
        return count_message_tokens(
            messages,
            model=self.model_name,
            policy=self.image_policy,
            tools=tools,
            tool_images=self.tool_images,
        )
