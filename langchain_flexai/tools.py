"""Tools: let a text-only agent look at an image, and let any tool hand an image back.

:class:`FlexAIVisionTool` answers a question about one image with a FlexAI vision model. The image
argument comes from an LLM, so it is untrusted: an https URL (passed through, never fetched here),
or a path that must resolve inside the folders the developer allowed (``allowed_dirs``); anything
else is refused with a message the agent can act on. :func:`tool_image_content` builds the content
a tool returns when its result *is* an image (a screenshot, a chart), so that a FlexAI vision model
sees the image on the next turn (``ChatFlexAI`` moves tool images into a user message).

Knows tools and the allowed-folder rule (``_allowed_paths``); knows nothing about pixels
(images.py) or the wire format (content.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.tools import ArgsSchema, BaseTool, ToolException
from langchain_core.tools.base import ToolExceptionHandlerOutput
from pydantic import (
    BaseModel,
    Field,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from langchain_flexai._allowed_paths import read_allowed_file, resolve_allowed_path
from langchain_flexai._loader._documents import vision_content, vision_message
from langchain_flexai._urls import url_scheme
from langchain_flexai.describe._run import answer_text, no_text_message
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import image_block, prepare_https_image, prepare_image
from langchain_flexai.images._policy import ImagePolicy
from langchain_flexai.images._prepared import PreparedImage

if TYPE_CHECKING:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForToolRun,
        CallbackManagerForToolRun,
    )

__all__ = ["FlexAIVisionInput", "FlexAIVisionTool", "tool_image_content"]

_T = TypeVar("_T")

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
"""Files larger than this are refused without being read (the policy then downscales)."""

_IMAGE_HELP = (
    "The image to look at: an https URL, or the path of an image file inside the folders this "
    "tool may read."
)
_QUESTION_HELP = "What to find out about the image, as a complete question."


class FlexAIVisionInput(BaseModel):
    """The arguments of :class:`FlexAIVisionTool`."""

    image: str = Field(description=_IMAGE_HELP)
    question: str = Field(description=_QUESTION_HELP)


def _input_schema(images: Sequence[str]) -> type[BaseModel]:
    # The choices become an enum in the JSON schema: a model picks one instead of guessing a path.
    # Validation stays a plain string so that a value off the list gets the tool's own message.
    choice = Annotated[str, WithJsonSchema({"type": "string", "enum": list(images)})]
    return create_model(
        "FlexAIVisionInput",
        __doc__=FlexAIVisionInput.__doc__,
        image=(choice, Field(description="The image to look at, one of the listed names.")),
        question=(str, Field(description=_QUESTION_HELP)),
    )


def _default_model() -> BaseChatModel:
    from langchain_flexai.chat_models import ChatFlexAI  # noqa: PLC0415 - avoid a cycle at import

    return ChatFlexAI()


class FlexAIVisionTool(BaseTool):
    """Answer a question about an image with a FlexAI vision model.

    A text-only agent calls it with ``image`` (an https URL, or a path inside ``allowed_dirs``)
    and ``question``; the tool sends both to ``model`` and returns the answer text.

    Paths are refused unless they resolve, symlinks followed, to a regular file inside one of
    ``allowed_dirs``: ``..`` components, absolute paths elsewhere and symlinks pointing outside
    are refused, as are ``http://``, ``file://`` and other schemes. Refusals and unusable images
    become the tool's answer (``handle_tool_error=True``), so the agent can correct itself; API
    errors (bad key, no credit) propagate.

    Example:
        ```python
        tool = FlexAIVisionTool(model=ChatFlexAI(), allowed_dirs=["photos"])
        tool.invoke({"image": "photos/cat.jpg", "question": "What colour is the cat?"})
        ```
    """

    name: str = "flexai_vision"
    description: str = (
        "Look at an image and answer a question about it. Use it whenever a question depends on "
        "what an image shows. Input: the image (an https URL or an allowed file path) and the "
        "question. Output: the answer, as text."
    )
    args_schema: ArgsSchema | None = FlexAIVisionInput
    handle_tool_error: bool | str | Callable[[ToolException], ToolExceptionHandlerOutput] | None = (
        True
    )
    """Refusals and unusable images become the tool's answer, so an agent can correct itself."""

    model: BaseChatModel = Field(default_factory=_default_model)
    """The vision chat model asked (default: ``ChatFlexAI()`` with its default vision model)."""
    allowed_dirs: tuple[str, ...] = ()
    """Folders whose image files may be read; resolved (symlinks followed) at construction. Empty:
    only https URLs are accepted."""
    images: tuple[str, ...] | None = None
    """A fixed list of images the agent may choose from (paths or https URLs). When given, the
    ``image`` argument's schema lists them as an enum and any other value is refused. Each entry
    is checked when the tool is built (a file must exist inside ``allowed_dirs``)."""
    policy: ImagePolicy | None = None
    """Image limits (default ``ImagePolicy()``)."""
    detail: str | None = None
    """Image ``detail`` hint (``auto``, ``low``, ``high``), or None."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Files larger than this are refused without being read."""

    @field_validator("allowed_dirs", mode="before")
    @classmethod
    def _resolve_dirs(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, (str, os.PathLike)):
            value = [value]
        folders = []
        for item in value:
            folder = os.path.realpath(os.fspath(item))
            if not Path(folder).is_dir():
                raise ValueError(f"allowed_dirs: {os.fspath(item)!r} is not a directory")
            folders.append(folder)
        return tuple(folders)

    @field_validator("images", mode="before")
    @classmethod
    def _images_tuple(cls, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str):
            raise TypeError("images must be a list of paths or URLs, not a single string")
        images = tuple(os.fspath(item) for item in value)
        if not images:
            raise ValueError("images must name at least one image (or be None)")
        return images

    @model_validator(mode="after")
    def _choices_schema(self) -> Self:
        if self.images is not None and self.args_schema is FlexAIVisionInput:
            self.args_schema = _input_schema(self.images)
        if self.max_file_bytes < 1:
            raise ValueError(f"max_file_bytes must be >= 1, got {self.max_file_bytes}")
        return self

    def __init__(self, **kwargs: Any) -> None:
        """Build the tool; every entry of ``images`` must be usable now.

        Raises:
            ImageInputError: An entry of ``images`` is a file that is not inside
                ``allowed_dirs`` (or does not exist there), or a URL the tool refuses. Checked
                here, after pydantic's validation, so the error is the library's own one line
                naming the entry and the folders, not a wrapped validation error.
        """
        super().__init__(**kwargs)
        for image in self.images or ():
            self._check_offered(image)

    def _check_offered(self, image: str) -> None:
        # An offered image the tool would refuse is a developer's mistake: say so when the tool
        # is built rather than when an agent picks it (mid-run, as a refusal the agent cannot fix).
        try:
            self._route(image, lambda path: resolve_allowed_path(path, self.allowed_dirs))
        except ImageInputError as error:
            folders = ", ".join(self.allowed_dirs) or "none"
            raise ImageInputError(
                f"an image offered in images=[...] cannot be used: {error.detail}; "
                f"allowed_dirs: {folders}",
                reason=error.reason,
                source=image,
            ) from None

    # -- the image ---------------------------------------------------------------------

    def prepare(self, image: str) -> PreparedImage:
        """Check ``image`` against the tool's rules and prepare it.

        Raises:
            ImageInputError: The image is refused (not allowed, unreadable, not an image).
        """
        if self.images is not None and image not in self.images:
            raise ImageInputError(
                "not one of the images this tool offers: " + ", ".join(self.images),
                reason=ImageErrorReason.UNREADABLE,
                source=image,
            )
        return self._route(image, self._read_allowed)

    @staticmethod
    def _route(image: str, on_path: Callable[[str], _T]) -> PreparedImage | _T:
        """Send ``image`` through the URL door or to ``on_path``; refuse other schemes.

        One routing rule for invoking the tool (``on_path`` reads the file) and for checking
        ``images`` at construction (``on_path`` only resolves it), so the two cannot disagree.
        """
        scheme = url_scheme(image)
        if scheme == "https":
            # Only a valid URL takes the URL door (which never reads a file). Anything else that
            # starts "https:" is a path, under the allowed-folder rules like every other path:
            # "https:/../secret.png" names a folder "https:", not a URL.
            try:
                return prepare_https_image(image)
            except ImageInputError as bad_url:
                try:
                    return on_path(image)
                except ImageInputError:
                    # Meant as a URL, surely: say what is wrong with it.
                    raise bad_url from None
        if scheme is not None:
            raise ImageInputError(
                f"'{scheme}:' images are not accepted; pass an https URL or a file path",
                reason=ImageErrorReason.UNSUPPORTED_URL,
                source=image,
            )
        return on_path(image)

    def _read_allowed(self, path: str) -> PreparedImage:
        # Bytes, never the path string, go to prepare_image: the allowed-folder check is the
        # only thing that turns model-written text into a file read.
        found = read_allowed_file(path, self.allowed_dirs, max_bytes=self.max_file_bytes)
        return replace(prepare_image(found.data, self.policy), source=found.path)

    def _messages(self, image: PreparedImage, question: str) -> list[BaseMessage]:
        return [vision_message(question, image.to_content_block(self.detail))]

    def _prepare_or_refuse(self, image: str) -> PreparedImage:
        try:
            return self.prepare(image)
        except ImageInputError as error:
            raise ToolException(f"Cannot use the image: {error}") from error

    @staticmethod
    def _answer(message: BaseMessage) -> str:
        text = answer_text(message)
        if not text:
            raise ToolException(f"{no_text_message(message)}.")
        return text

    # -- BaseTool ----------------------------------------------------------------------

    def _run(
        self,
        image: str,
        question: str,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> str:
        prepared = self._prepare_or_refuse(image)
        callbacks = run_manager.get_child() if run_manager else None
        reply = self.model.invoke(
            self._messages(prepared, question), config={"callbacks": callbacks}
        )
        return self._answer(reply)

    async def _arun(
        self,
        image: str,
        question: str,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> str:
        # Reading and preparing a file is blocking work: keep it off the event loop.
        prepared = await asyncio.to_thread(self._prepare_or_refuse, image)
        callbacks = run_manager.get_child() if run_manager else None
        reply = await self.model.ainvoke(
            self._messages(prepared, question), config={"callbacks": callbacks}
        )
        return self._answer(reply)


def tool_image_content(
    source: object,
    text: str | None = None,
    *,
    detail: str | None = None,
    policy: ImagePolicy | None = None,
) -> list[dict[str, Any]]:
    """The content a tool returns so that a vision model sees an image on the next turn.

    Return it from a tool (``response_format="content"``), or as the first element of the
    ``(content, artifact)`` pair of a ``response_format="content_and_artifact"`` tool. LangChain
    puts the list into the ``ToolMessage``'s content as it is; ``ChatFlexAI`` then moves the image
    into a user message right after the tool results (FlexAI's models read images only there) and
    leaves ``text`` and a short note in the tool message.

    Args:
        source: Anything :func:`~langchain_flexai.images.prepare_image` accepts: a path, bytes, a
            PIL image, a file object, a Blob, a data URL, an https URL. This is trusted code: the
            tool's own image, never a path taken from the model's arguments.
        text: A caption to put before the image (what it is, where it came from).
        detail: Image ``detail`` hint (``auto``, ``low``, ``high``).
        policy: Image limits (default ``ImagePolicy()``).

    Returns:
        ``[{"type": "text", "text": text}, <v1 image block>]`` (no text part when ``text`` is None).

    Raises:
        ImageInputError: The image cannot be read or made valid.
    """
    return vision_content(text, image_block(source, detail=detail, policy=policy))
