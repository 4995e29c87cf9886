"""LangChain message content to FlexAI wire parts.

FlexAI chat completions accept exactly two kinds of content part, ``{"type": "text", ...}`` and
``{"type": "image_url", "image_url": {"url": <https or data URL>[, "detail": ...]}}``.
:func:`prepare_messages` turns every content shape a LangChain user may send (see
docs/images.md) into those parts, in the original order, or raises an
:class:`~langchain_flexai.errors.ImageInputError` that names the message and part, before anything
is sent.

It works in three passes so that cheap refusals come before any pixel work:

1. recognise every part (``_content_shapes.py``), apply the role rules (images only in user and,
   by choice, tool messages) and the per-request image count;
2. prepare inline images through :func:`langchain_flexai.images.prepare_inline_image` (validated,
   converted, downscaled, cached by content, so an image repeated across turns is processed once);
3. assemble the output messages, moving tool images into a user message
   (``_tool_images.py``) when ``tool_images="user_message"``.

Knows the wire format and LangChain's message types; knows nothing about pixels, and never opens a
file or fetches a URL. The input messages are never mutated. Errors carry the index of the message
in the *input* sequence and of the part in that message's content list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_flexai.content._parts import (
    InlineImage,
    Part,
    RemoteImage,
    TextPart,
    unsupported,
)
from langchain_flexai.content._pdf_parts import InlinePdf, count_pages, pdf_parts, too_many_pages
from langchain_flexai.content._shapes import core_would_mangle, recognize_part
from langchain_flexai.content._tool_images import (
    TOOL_IMAGE_NOTE,
    TOOL_PDF_NOTE,
    tool_images_message,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_inline_image
from langchain_flexai.images._policy import ImagePolicy

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ImageStats", "PreparedMessages", "ToolImages", "prepare_messages", "shield_from_core"]

ToolImages = Literal["user_message", "keep", "error"]
"""Where images returned by tools go.

- ``"user_message"`` (default): moved into one user message right after the run of tool messages.
- ``"keep"``: left in the tool message (for servers that read images there).
- ``"error"``: refused with ``ImageErrorReason.IMAGE_NOT_ALLOWED``.
"""

_TOOL_IMAGE_CHOICES = ("user_message", "keep", "error")
_Role = Literal["user", "tool", "system", "assistant"]
_CHAT_ROLES: dict[str, _Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",
}
"""``ChatMessage`` roles by name. Any other role (``tool`` without a ``ToolMessage``'s
``tool_call_id``, ``function``, custom ones) carries text only."""


@dataclass(frozen=True, slots=True)
class ImageStats:
    """How many images a request carries and what was done to them.

    Attributes:
        images: Image parts sent (https URLs included).
        resized: Images downscaled to fit the policy.
        converted: Images re-encoded into another format (BMP to PNG, say).
        first_frame: Animated images sent as their first frame.
        transposed: Images rotated upright from their EXIF orientation.
        mime_corrected: Images whose declared MIME type did not match their bytes.
        primary_picture: Multi-picture JPEGs (MPO, gain-map HDR) sent as their primary picture.
    """

    images: int = 0
    resized: int = 0
    converted: int = 0
    first_frame: int = 0
    transposed: int = 0
    mime_corrected: int = 0
    primary_picture: int = 0

    @classmethod
    def of_image(cls, transformations: Iterable[str]) -> ImageStats:
        """The stats of one image sent, from its ``PreparedImage.transformations``."""
        done = set(transformations)
        return cls(
            images=1,
            resized=int("resized" in done),
            converted=int("converted" in done),
            first_frame=int("first_frame" in done),
            transposed=int("transposed" in done),
            mime_corrected=int("mime_corrected" in done),
            primary_picture=int("primary_picture" in done),
        )

    def as_metadata(self) -> dict[str, int]:
        """The stats as ``response_metadata`` entries.

        Returns:
            ``{}`` when no image was sent (text-only responses stay uncluttered); otherwise
            ``images_sent``, ``images_resized``, ``images_converted``, ``images_first_frame``,
            ``images_transposed``, ``images_mime_corrected`` and ``images_primary_picture``.
        """
        if not self.images:
            return {}
        return {
            "images_sent": self.images,
            "images_resized": self.resized,
            "images_converted": self.converted,
            "images_first_frame": self.first_frame,
            "images_transposed": self.transposed,
            "images_mime_corrected": self.mime_corrected,
            "images_primary_picture": self.primary_picture,
        }

    def __add__(self, other: object) -> ImageStats:
        """Field-wise sum (stats of several requests, or of a request's images)."""
        if not isinstance(other, ImageStats):
            return NotImplemented
        return ImageStats(
            images=self.images + other.images,
            resized=self.resized + other.resized,
            converted=self.converted + other.converted,
            first_frame=self.first_frame + other.first_frame,
            transposed=self.transposed + other.transposed,
            mime_corrected=self.mime_corrected + other.mime_corrected,
            primary_picture=self.primary_picture + other.primary_picture,
        )


@dataclass(frozen=True, slots=True)
class PreparedMessages:
    """Messages ready for the wire, and what was done to their images.

    Attributes:
        messages: New messages whose content is a string or a list of FlexAI wire parts; may be
            longer than the input when tool images were moved into user messages.
        stats: Image counts for ``response_metadata``.
    """

    messages: list[BaseMessage]
    stats: ImageStats


@dataclass(frozen=True, slots=True)
class _Slot:
    part_index: int
    part: Part
    pdf: bytes | None = None
    """A PDF part's decoded bytes, read when its pages were counted."""


def prepare_messages(
    messages: Sequence[BaseMessage],
    *,
    policy: ImagePolicy | None = None,
    tool_images: ToolImages = "user_message",
    refuse_images: str | None = None,
) -> PreparedMessages:
    """Turn LangChain messages into messages that carry only FlexAI wire parts.

    Pure: reads no file, fetches no URL, does not mutate the input messages.

    Args:
        messages: The conversation, in any of the content shapes of docs/images.md, as
            given by the user or as rewritten by langchain-core's ``_normalize_messages``.
        policy: Image limits (size, bytes, count); ``ImagePolicy()`` when ``None``.
        tool_images: Where images in tool messages go, see :data:`ToolImages`.
        refuse_images: When set, any image part is refused with this explanation (the model is
            known not to read images), located at the image before anything is decoded.

    Returns:
        The prepared messages and their image stats.

    Raises:
        ImageInputError: A part that cannot be made valid, located by message and part index.
        ValueError: An unknown ``tool_images`` value.
    """
    if tool_images not in _TOOL_IMAGE_CHOICES:
        msg = f"tool_images must be one of {', '.join(map(repr, _TOOL_IMAGE_CHOICES))}"
        raise ValueError(f"{msg}, got {tool_images!r}")
    policy = policy if policy is not None else ImagePolicy()
    plans = _recognize_all(messages, policy, tool_images, refuse_images)
    wire_images, stats = _prepare_images(plans, policy)
    return PreparedMessages(_assemble(messages, plans, wire_images, tool_images), stats)


def shield_from_core(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Protect content blocks from langchain-core's pre-processing, so they reach us as written.

    ``BaseChatModel`` runs ``_format_for_tracing`` and ``_normalize_messages`` on every message
    before ``_generate``/``_stream`` see it. Both crash on some valid shapes (a v0 block with an
    ``id``; a base64 image without ``mime_type``) and ``_normalize_messages`` rewrites others
    lossily (OpenAI ``file`` blocks holding an image become ``application/pdf``). A chat model
    calls this from ``_convert_input`` (the first step of invoke/stream, before any of core's);
    each such block is wrapped as ``{"type": "non_standard", "value": block}``, which core leaves
    alone and :func:`prepare_messages` unwraps. Structural only: no decoding, cheap enough for the
    event loop.

    Args:
        messages: The conversation as the user gave it.

    Returns:
        The same message objects where nothing needed wrapping; copies where something did.
    """
    shielded: list[BaseMessage] = []
    for message in messages:
        content = message.content
        if isinstance(content, list) and any(core_would_mangle(part) for part in content):
            wrapped = [
                {"type": "non_standard", "value": part} if core_would_mangle(part) else part
                for part in content
            ]
            message = message.model_copy(update={"content": wrapped})  # noqa: PLW2901
        shielded.append(message)
    return shielded


# -- pass 1: recognise ----------------------------------------------------------------------------


def _recognize_all(
    messages: Sequence[BaseMessage],
    policy: ImagePolicy,
    tool_images: ToolImages,
    refuse_images: str | None,
) -> list[list[_Slot] | None]:
    plans: list[list[_Slot] | None] = []
    image_count = 0
    for message_index, message in enumerate(messages):
        content = message.content
        if isinstance(content, str):
            plans.append(None)
            continue
        role = _role(message)
        slots: list[_Slot] = []
        for part_index, raw in enumerate(content):
            pdf: bytes | None = None
            try:
                part = recognize_part(raw)
                if part is None:
                    continue
                if isinstance(part, RemoteImage | InlineImage):
                    _check_image_allowed(role, tool_images, refuse_images)
                    image_count += 1
                    _check_image_count(image_count, policy)
                elif isinstance(part, InlinePdf):
                    # Each page is an image: counted (and the PDF checked) before any rendering.
                    _check_image_allowed(role, tool_images, refuse_images)
                    pdf, pages = count_pages(part, policy)
                    if image_count + pages > policy.max_images:
                        raise too_many_pages(part, pages, image_count, policy)
                    image_count += pages
            except ImageInputError as err:
                raise err.at(message_index=message_index, part_index=part_index) from None
            slots.append(_Slot(part_index, part, pdf))
        plans.append(slots)
    return plans


def _role(message: BaseMessage) -> str:
    """The role that decides where images may go, or, for any other role, its name for errors.

    A ``ChatMessage`` role outside :data:`_CHAT_ROLES` comes back quoted as written (``'tool'``,
    ``'critic'``), so it can never pass for a real ``ToolMessage``; another message class gives
    its ``type``, quoted the same way (``'function'``).
    """
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage):
        return _CHAT_ROLES.get(message.role.lower(), repr(message.role))
    return repr(message.type)


def _check_image_allowed(role: str, tool_images: ToolImages, refuse_images: str | None) -> None:
    if refuse_images is not None:
        raise ImageInputError(refuse_images, reason=ImageErrorReason.IMAGE_NOT_ALLOWED)
    if role == "user" or (role == "tool" and tool_images != "error"):
        return
    if role == "tool":
        detail = (
            "an image in a tool message is refused because tool_images='error'; use "
            "tool_images='user_message' to move it into a user message, or 'keep' to leave it "
            "in the tool message."
        )
    else:
        detail = (
            f"an image in a {role} message cannot be sent: FlexAI reads images only in user "
            "messages (and ChatFlexAI moves images returned by tools into one)."
        )
    raise ImageInputError(detail, reason=ImageErrorReason.IMAGE_NOT_ALLOWED)


def _check_image_count(count: int, policy: ImagePolicy) -> None:
    if count > policy.max_images:
        raise ImageInputError(
            f"more than {policy.max_images} images in one request (ImagePolicy.max_images="
            f"{policy.max_images}); send fewer images or raise the limit.",
            reason=ImageErrorReason.TOO_MANY_IMAGES,
        )


# -- pass 2: prepare images -----------------------------------------------------------------------


def _prepare_images(
    plans: list[list[_Slot] | None], policy: ImagePolicy
) -> tuple[dict[tuple[int, int], list[dict[str, Any]]], ImageStats]:
    wire: dict[tuple[int, int], list[dict[str, Any]]] = {}
    stats = ImageStats()
    for message_index, slots in enumerate(plans):
        for slot in slots or ():
            part = slot.part
            if isinstance(part, RemoteImage):
                image_url = {"url": part.url}
                if part.detail is not None:
                    image_url["detail"] = part.detail
                wire[message_index, slot.part_index] = [
                    {"type": "image_url", "image_url": image_url}
                ]
                stats += ImageStats(images=1)
            elif isinstance(part, InlineImage):
                try:
                    prepared = prepare_inline_image(
                        part.data,
                        mime_type=part.declared_mime,
                        policy=policy,
                        source=part.source,
                        data_url=part.data_url,
                    )
                except ImageInputError as err:
                    located = _not_an_image(part, err).at(
                        message_index=message_index, part_index=slot.part_index
                    )
                    raise located from err.__cause__
                wire[message_index, slot.part_index] = [prepared.to_openai_part(part.detail)]
                stats += ImageStats.of_image(prepared.transformations)
            elif isinstance(part, InlinePdf) and slot.pdf is not None:
                try:
                    parts, done = pdf_parts(part, slot.pdf, policy)
                except ImageInputError as err:
                    located = err.at(message_index=message_index, part_index=slot.part_index)
                    raise located from err.__cause__
                wire[message_index, slot.part_index] = parts
                for transformations in done:
                    stats += ImageStats.of_image(transformations)
    return wire, stats


def _not_an_image(part: InlineImage, err: ImageInputError) -> ImageInputError:
    # A file or media block is only an image if its bytes say so; when they do not, the useful
    # message is "FlexAI takes images and text", not "this image is broken".
    if part.must_sniff and err.reason is ImageErrorReason.NOT_AN_IMAGE:
        return unsupported(part.what, part.source)
    return err


# -- pass 3: assemble -----------------------------------------------------------------------------


def _assemble(
    messages: Sequence[BaseMessage],
    plans: list[list[_Slot] | None],
    wire_images: dict[tuple[int, int], list[dict[str, Any]]],
    tool_images: ToolImages,
) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    moved: list[tuple[str, list[dict[str, Any]]]] = []
    for message_index, (message, slots) in enumerate(zip(messages, plans, strict=True)):
        if moved and not isinstance(message, ToolMessage):
            out.append(tool_images_message(moved))
            moved = []
        if slots is None:
            # String content is already a valid wire value; the message is shared, not copied.
            out.append(message)
            continue
        move = isinstance(message, ToolMessage) and tool_images == "user_message"
        parts: list[str | dict[str, Any]] = []
        images_out: list[dict[str, Any]] = []
        for slot in slots:
            if isinstance(slot.part, TextPart):
                parts.append({"type": "text", "text": slot.part.text})
                continue
            images = wire_images[message_index, slot.part_index]
            if move:
                note = TOOL_PDF_NOTE if isinstance(slot.part, InlinePdf) else TOOL_IMAGE_NOTE
                parts.append({"type": "text", "text": note})
                images_out.extend(images)
            else:
                parts.extend(images)
        content: str | list[str | dict[str, Any]] = parts
        if not parts and isinstance(message, AIMessage):
            # Only reasoning or tool-use blocks: the tool calls travel as ``tool_calls``, and an
            # empty string becomes ``null`` content next to them on the wire.
            content = ""
        out.append(message.model_copy(update={"content": content}))
        if images_out and isinstance(message, ToolMessage):
            moved.append((message.tool_call_id, images_out))
    if moved:
        out.append(tool_images_message(moved))
    return out


class WireMessages(list[BaseMessage]):
    """Messages ChatFlexAI prepared, with their image counts: sent as they are.

    The type is the mark: the chat model's payload step and ``_convert_input`` see prepared
    messages by what they are, so a request's images are prepared once, by the entry point that
    received it.
    """

    __slots__ = ("stats",)
    stats: ImageStats

    @classmethod
    def of(cls, prepared: PreparedMessages) -> WireMessages:
        wire = cls(prepared.messages)
        wire.stats = prepared.stats
        return wire
