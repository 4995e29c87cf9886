"""``remote_images="fetch_on_refusal"``: https images sent as URLs, fetched only if FlexAI refuses.

Knows the two settings of remote images on a chat model (``remote_images``, ``fetch_policy``)
and the one retry the fallback mode makes: when FlexAI answers 400 to a request that carried
https image URLs, and its message speaks of an image, a URL or a download, those URLs are
fetched under the fetch policy (in a worker thread on async paths), prepared as data URLs, and
the request is sent once more. Any other error, a request without https images, or a stream
that already produced output is left alone. Everything else about the request (preparation,
error mapping, image counts) stays with ``ChatFlexAI``; this class sits between it and
``BaseChatOpenAI`` (``_transport._results``) and sees the prepared (wire) messages only.

Knows nothing about sockets (``images/_fetch.py``) or content shapes (``content/``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import openai

from langchain_flexai._transport._results import LoopResults
from langchain_flexai.content._messages import ImageStats, WireMessages, prepare_messages
from langchain_flexai.images._fetch import RemoteFetcher
from langchain_flexai.images._fetch_policy import DEFAULT_FETCH_POLICY, FetchPolicy, RemoteImages

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

    from langchain_flexai.images._policy import ImagePolicy

__all__ = ["RemoteImagesFallback"]

# What a 400 about an image URL says; FlexAI documents no code for it, so its words decide.
_ABOUT_A_URL = re.compile(r"image|url|fetch|download|retriev", re.IGNORECASE)


class RemoteImagesFallback(LoopResults):  # BaseChatOpenAI, async results on the loop
    """The remote-image settings of ``ChatFlexAI``, and the fallback mode's one retry."""

    remote_images: RemoteImages = "pass"
    """https images in messages: sent as they are, FlexAI fetches them (`"pass"`, the default);
    fetched here under `fetch_policy` and sent as downscaled data URLs (`"fetch"`); or sent as
    URLs and fetched here only when FlexAI answers 400 about them (`"fetch_on_refusal"`, one
    retry). See docs/images.md, "Remote images"."""

    fetch_policy: FetchPolicy | None = None
    """The limits of those fetches (https only, timeouts, byte cap, redirects, allowed hosts);
    `None` uses `FetchPolicy()`. Never used with `remote_images="pass"`."""

    def _refetched(self, messages: list[BaseMessage], error: openai.APIStatusError) -> bool:
        """Replace https images in ``messages`` by fetched ones, if the fallback applies."""
        if self.remote_images != "fetch_on_refusal" or not isinstance(messages, WireMessages):
            return False
        if error.status_code != 400 or not _ABOUT_A_URL.search(str(error.message)):  # noqa: PLR2004
            return False
        if not any(_https_image(m) for m in messages):
            return False
        policy: ImagePolicy | None = getattr(self, "image_policy", None)
        fetcher = RemoteFetcher(self.fetch_policy or DEFAULT_FETCH_POLICY)
        rewired = prepare_messages(messages, policy=policy, tool_images="keep", fetch=fetcher)
        fetched = rewired.stats.fetched
        messages[:] = rewired.messages
        messages.stats = messages.stats + ImageStats(fetched=fetched)
        return True

    async def _arefetched(self, messages: list[BaseMessage], error: openai.APIStatusError) -> bool:
        return await asyncio.to_thread(self._refetched, messages, error)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            return super()._generate(messages, stop, run_manager, **kwargs)
        except openai.BadRequestError as error:
            if not self._refetched(messages, error):
                raise
        return super()._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            return await super()._agenerate(messages, stop, run_manager, **kwargs)
        except openai.BadRequestError as error:
            if not await self._arefetched(messages, error):
                raise
        return await super()._agenerate(messages, stop, run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        produced = False
        try:
            for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                produced = True
                yield chunk
        except openai.BadRequestError as error:
            if produced or not self._refetched(messages, error):
                raise
        else:
            return
        yield from super()._stream(messages, stop, run_manager, **kwargs)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        produced = False
        try:
            async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
                produced = True
                yield chunk
        except openai.BadRequestError as error:
            if produced or not await self._arefetched(messages, error):
                raise
        else:
            return
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk


def _https_image(message: BaseMessage) -> bool:
    content = message.content
    if not isinstance(content, list):
        return False
    for part in content:
        image = part.get("image_url") if isinstance(part, dict) else None
        url = image.get("url") if isinstance(image, dict) else None
        if isinstance(url, str) and url.startswith("https://"):
            return True
    return False
