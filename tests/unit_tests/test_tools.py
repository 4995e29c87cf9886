"""FlexAIVisionTool and tool_image_content, without a server.

The path rules are the security boundary of the tool: an argument written by an LLM must never
make it read a file outside ``allowed_dirs``. Each refusal is checked with the exact message the
agent receives, and that the chat model was not called.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from PIL import Image
from pydantic import Field

from langchain_flexai import ChatFlexAI, FlexAIVisionTool, tool_image_content
from langchain_flexai._allowed_paths import read_allowed_file, resolve_allowed_path
from langchain_flexai.content._messages import prepare_messages
from langchain_flexai.errors import ImageErrorReason, ImageInputError


class RecordingModel(BaseChatModel):
    """Answers a fixed text and keeps every message list it was given."""

    answer: str = "It is red."
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: list[BaseMessage], *_: Any, **__: Any) -> ChatResult:
        self.calls.append(messages)
        message = AIMessage(content=self.answer, response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])


def png(colour: str = "red", size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """allowed/{red.png, sub/blue.png, link-in.png -> red.png, link-out.png -> ../secret.png}."""
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "red.png").write_bytes(png("red"))
    (allowed / "sub" / "blue.png").write_bytes(png("blue"))
    (tmp_path / "secret.png").write_bytes(png("black"))
    (allowed / "link-in.png").symlink_to(allowed / "red.png")
    (allowed / "link-out.png").symlink_to(tmp_path / "secret.png")
    (allowed / "dir-out").symlink_to(tmp_path, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return allowed


@pytest.fixture
def model() -> Iterator[RecordingModel]:
    recording = RecordingModel(calls=[])
    yield recording


def tool_for(layout: Path, model: BaseChatModel, **kwargs: Any) -> FlexAIVisionTool:
    return FlexAIVisionTool(model=model, allowed_dirs=[layout], **kwargs)


class TestAllowedPaths:
    @pytest.mark.parametrize(
        ("argument", "expected"),
        [
            ("red.png", "red.png"),  # relative to the allowed folder
            ("sub/blue.png", "sub/blue.png"),
            ("allowed/red.png", "red.png"),  # relative to the working directory
            ("link-in.png", "red.png"),  # a symlink that stays inside
        ],
    )
    def test_inside(self, layout: Path, argument: str, expected: str) -> None:
        found = resolve_allowed_path(argument, [os.path.realpath(layout)])
        assert found == os.path.realpath(layout / expected)

    def test_absolute_inside(self, layout: Path) -> None:
        path = str(layout / "red.png")
        assert read_allowed_file(path, [str(layout)], max_bytes=10**6).data == png("red")

    @pytest.mark.parametrize(
        ("argument", "detail", "reason"),
        [
            (
                "../secret.png",
                "'..' is not allowed in an image path; name a file inside the allowed folders",
                ImageErrorReason.LOCAL_PATH,
            ),
            (
                "sub/../red.png",  # even when it would land inside
                "'..' is not allowed in an image path; name a file inside the allowed folders",
                ImageErrorReason.LOCAL_PATH,
            ),
            (
                "link-out.png",
                "the image path is outside the folders this tool may read",
                ImageErrorReason.LOCAL_PATH,
            ),
            (
                "dir-out/secret.png",
                "the image path is outside the folders this tool may read",
                ImageErrorReason.LOCAL_PATH,
            ),
            (
                # Exists relative to the working directory, but outside: not even looked at, so
                # the answer is the same as for a name that exists nowhere.
                "secret.png",
                "no such image file in the folders this tool may read",
                ImageErrorReason.UNREADABLE,
            ),
            (
                "missing.png",
                "no such image file in the folders this tool may read",
                ImageErrorReason.UNREADABLE,
            ),
            (
                "sub",
                "no such image file in the folders this tool may read",
                ImageErrorReason.UNREADABLE,
            ),
            ("", "the image path is empty or malformed", ImageErrorReason.UNREADABLE),
            ("a\x00b", "the image path is empty or malformed", ImageErrorReason.UNREADABLE),
        ],
    )
    def test_refused(
        self, layout: Path, argument: str, detail: str, reason: ImageErrorReason
    ) -> None:
        with pytest.raises(ImageInputError) as refused:
            resolve_allowed_path(argument, [os.path.realpath(layout)])
        assert (refused.value.detail, refused.value.reason) == (detail, reason)

    def test_absolute_elsewhere(self, layout: Path) -> None:
        with pytest.raises(ImageInputError) as refused:
            resolve_allowed_path("/etc/passwd", [os.path.realpath(layout)])
        assert refused.value.detail == "the image path is outside the folders this tool may read"

    def test_no_allowed_dirs_reads_nothing(self, layout: Path) -> None:
        with pytest.raises(ImageInputError) as refused:
            resolve_allowed_path(str(layout / "red.png"), [])
        assert refused.value.detail == (
            "this tool reads no local files (no allowed_dirs were given); pass an https URL"
        )

    def test_too_large_is_not_read(self, layout: Path) -> None:
        with pytest.raises(ImageInputError) as refused:
            read_allowed_file("red.png", [str(layout)], max_bytes=10)
        size = len(png("red"))
        assert refused.value.reason is ImageErrorReason.TOO_LARGE
        assert refused.value.detail == f"the file has {size} bytes, more than this tool reads (10)"

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
    def test_a_fifo_is_not_read(self, layout: Path) -> None:
        os.mkfifo(layout / "pipe.png")
        with pytest.raises(ImageInputError) as refused:
            read_allowed_file("pipe.png", [str(layout)], max_bytes=10**6)
        # A FIFO is not a regular file: the lookup passes it over, and nothing hangs.
        assert refused.value.detail == "no such image file in the folders this tool may read"


class TestTool:
    def test_answers_from_an_allowed_file(self, layout: Path, model: RecordingModel) -> None:
        tool = tool_for(layout, model)
        assert tool.invoke({"image": "red.png", "question": "What colour?"}) == "It is red."
        (sent,) = model.calls
        content = sent[0].content
        assert isinstance(sent[0], HumanMessage)
        assert content[0] == {"type": "text", "text": "What colour?"}
        assert content[1] == {
            "type": "image",
            "base64": base64.b64encode(png("red")).decode(),
            "mime_type": "image/png",
        }

    def test_https_url_passed_through(self, model: RecordingModel) -> None:
        tool = FlexAIVisionTool(model=model, detail="low")
        url = "https://example.com/cat.png"
        assert tool.invoke({"image": url, "question": "Cat?"}) == "It is red."
        assert model.calls[0][0].content[1] == {
            "type": "image",
            "url": url,
            "extras": {"detail": "low"},
        }

    @pytest.mark.parametrize(
        ("image", "message"),
        [
            (
                "../secret.png",
                (
                    "Cannot use the image: '..' is not allowed in an image path; name a file "
                    "inside the allowed folders (source: ../secret.png)"
                ),
            ),
            (
                "file:///etc/passwd",
                (
                    "Cannot use the image: 'file:' images are not accepted; pass an https URL or a "
                    "file path (source: file:///etc/passwd)"
                ),
            ),
            (
                "http://example.com/a.png",
                (
                    "Cannot use the image: 'http:' images are not accepted; pass an https URL or a "
                    "file path (source: http://example.com/a.png)"
                ),
            ),
        ],
    )
    def test_refusals_are_the_answer_and_the_model_is_not_called(
        self, layout: Path, model: RecordingModel, image: str, message: str
    ) -> None:
        tool = tool_for(layout, model)
        assert tool.invoke({"image": image, "question": "?"}) == message
        call = {"name": tool.name, "args": {"image": image, "question": "?"}, "id": "c1"}
        result = tool.invoke({**call, "type": "tool_call"})
        assert isinstance(result, ToolMessage)
        assert (result.content, result.status) == (message, "error")
        assert model.calls == []

    def test_https_colon_folder_is_not_a_way_out(self, layout: Path, model: RecordingModel) -> None:
        # Regression: "https:/../secret.png" used to be handed to prepare_image(str), which read
        # <cwd>/https:/../secret.png without any allowed-folder check.
        (layout.parent / "https:").mkdir()
        assert (layout.parent / "https:/../secret.png").is_file()
        answer = tool_for(layout, model).invoke({"image": "https:/../secret.png", "question": "?"})
        assert answer == (
            "Cannot use the image: invalid https URL: it names no host (expected "
            "'https://host/path') (source: https:/../secret.png)"
        )
        assert model.calls == []

    def test_https_colon_folder_inside_is_a_path(self, layout: Path, model: RecordingModel) -> None:
        (layout / "https:").mkdir()
        (layout / "https:" / "cat.png").write_bytes(png("red"))
        prepared = tool_for(layout, model).prepare("https:/cat.png")
        assert prepared.source == os.path.realpath(layout / "https:" / "cat.png")
        assert prepared.data() == png("red")

    @pytest.mark.parametrize(
        ("image", "problem"),
        [
            ("https://", "it names no host (expected 'https://host/path')"),
            (
                "https://example.com/a.png\nX-Injected: 1",
                (
                    "it contains whitespace or a control character ('\\n' at position 25); "
                    "percent-encode it (a space is %20) or remove it"
                ),
            ),
        ],
    )
    def test_broken_https_urls_are_refused(
        self, layout: Path, model: RecordingModel, image: str, problem: str
    ) -> None:
        source = image.replace("\n", "\\n")
        answer = tool_for(layout, model).invoke({"image": image, "question": "?"})
        assert answer == f"Cannot use the image: invalid https URL: {problem} (source: {source})"
        assert model.calls == []

    def test_not_an_image(self, layout: Path, model: RecordingModel) -> None:
        (layout / "notes.png").write_text("not an image")
        answer = tool_for(layout, model).invoke({"image": "notes.png", "question": "?"})
        assert answer.startswith("Cannot use the image: the data is not an image")
        assert model.calls == []

    def test_image_choices_become_an_enum(self, layout: Path, model: RecordingModel) -> None:
        tool = tool_for(layout, model, images=["red.png", "sub/blue.png"])
        parameters = convert_to_openai_tool(tool)["function"]["parameters"]
        assert parameters["properties"]["image"]["enum"] == ["red.png", "sub/blue.png"]
        assert parameters["required"] == ["image", "question"]
        assert tool.invoke({"image": "sub/blue.png", "question": "?"}) == "It is red."
        assert tool.invoke({"image": "link-in.png", "question": "?"}) == (
            "Cannot use the image: not one of the images this tool offers: red.png, "
            "sub/blue.png (source: link-in.png)"
        )

    async def test_async(self, layout: Path, model: RecordingModel) -> None:
        tool = tool_for(layout, model)
        assert await tool.ainvoke({"image": "sub/blue.png", "question": "?"}) == "It is red."
        refused = await tool.ainvoke({"image": "/etc/passwd", "question": "?"})
        assert refused == (
            "Cannot use the image: the image path is outside the folders this tool may read "
            "(source: /etc/passwd)"
        )

    def test_empty_answer_is_an_error_answer(self, layout: Path) -> None:
        tool = tool_for(layout, RecordingModel(calls=[], answer="  "))
        assert tool.invoke({"image": "red.png", "question": "?"}) == (
            "the model answered with no text (finish_reason='stop')."
        )

    def test_allowed_dirs_must_exist(self, tmp_path: Path, model: RecordingModel) -> None:
        with pytest.raises(ValueError, match="is not a directory"):
            FlexAIVisionTool(model=model, allowed_dirs=[tmp_path / "nope"])

    def test_allowed_dirs_are_resolved_once(
        self, layout: Path, model: RecordingModel, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tool = FlexAIVisionTool(model=model, allowed_dirs="allowed")
        assert tool.allowed_dirs == (os.path.realpath(layout),)
        monkeypatch.chdir("/")
        assert tool.invoke({"image": "red.png", "question": "?"}) == "It is red."

    def test_default_model_is_chat_flexai(self) -> None:
        assert isinstance(FlexAIVisionTool().model, ChatFlexAI)


_MISSING = "no such image file in the folders this tool may read"
_OUTSIDE = "the image path is outside the folders this tool may read"
_DOTDOT = "'..' is not allowed in an image path; name a file inside the allowed folders"
_SCHEME = "'{}:' images are not accepted; pass an https URL or a file path"


class TestOfferedImagesAreCheckedAtConstruction:
    """``images=[...]`` entries the tool would refuse fail construction, not a later call."""

    @pytest.mark.parametrize(
        ("entry", "detail", "reason"),
        [
            ("missing.png", _MISSING, "unreadable"),
            ("sub", _MISSING, "unreadable"),  # a folder, not a file
            ("../secret.png", _DOTDOT, "local_path"),
            ("/etc/passwd", _OUTSIDE, "local_path"),
            ("link-out.png", _OUTSIDE, "local_path"),
            ("http://example.com/a.png", _SCHEME.format("http"), "unsupported_url"),
            ("file:///etc/passwd", _SCHEME.format("file"), "unsupported_url"),
        ],
    )
    def test_refused_entry_names_the_file_and_the_folders(
        self, layout: Path, model: RecordingModel, entry: str, detail: str, reason: str
    ) -> None:
        with pytest.raises(ImageInputError) as caught:
            tool_for(layout, model, images=["red.png", entry])
        assert str(caught.value) == (
            f"an image offered in images=[...] cannot be used: {detail}; "
            f"allowed_dirs: {os.path.realpath(layout)} (source: {entry})"
        )
        assert caught.value.reason.value == reason
        assert caught.value.source == entry

    def test_no_allowed_dirs_means_only_urls(self, layout: Path, model: RecordingModel) -> None:
        with pytest.raises(ImageInputError) as caught:
            FlexAIVisionTool(model=model, images=["https://example.com/a.png", "red.png"])
        assert str(caught.value) == (
            "an image offered in images=[...] cannot be used: this tool reads no local files (no "
            "allowed_dirs were given); pass an https URL; allowed_dirs: none (source: red.png)"
        )
        tool = FlexAIVisionTool(model=model, images=["https://example.com/a.png"])
        assert tool.images == ("https://example.com/a.png",)

    def test_construction_accepts_exactly_what_invoking_accepts(
        self, layout: Path, model: RecordingModel
    ) -> None:
        # One rule: for every spelling generated here, building a tool that offers it fails iff
        # a tool without choices refuses it, with the same reason (all files are valid PNGs).
        names = ["red.png", "sub/blue.png", "link-in.png", "link-out.png", "secret.png", "nope.png"]
        spellings = set()
        for name in names:
            spellings |= {
                name,
                f"allowed/{name}",
                f"./allowed/{name}",
                str(layout / name),
                str(layout.parent / name),
                f"sub/../{name}",
                f"dir-out/{name}",
                f"https://example.com/{name}",
                f"https:{name}",
                f"http://example.com/{name}",
                f"data:image/png;base64,{name}",
            }
        free = tool_for(layout, model)
        for spelling in sorted(spellings):
            try:
                free.prepare(spelling)
            except ImageInputError as refused:
                expected: str | None = refused.reason.value
            else:
                expected = None
            try:
                tool_for(layout, model, images=[spelling])
            except ImageInputError as error:
                got: str | None = error.reason.value
            else:
                got = None
            assert got == expected, spelling

    def test_offered_images_still_answer(self, layout: Path, model: RecordingModel) -> None:
        tool = tool_for(layout, model, images=["red.png", str(layout / "sub" / "blue.png")])
        assert tool.invoke({"image": "red.png", "question": "?"}) == "It is red."
        assert len(model.calls) == 1


class TestToolImageContent:
    def test_text_then_v1_image_block(self) -> None:
        content = tool_image_content(png("green"), "A chart", detail="high")
        assert content == [
            {"type": "text", "text": "A chart"},
            {
                "type": "image",
                "base64": base64.b64encode(png("green")).decode(),
                "mime_type": "image/png",
                "extras": {"detail": "high"},
            },
        ]

    def test_pil_image_without_text(self) -> None:
        (block,) = tool_image_content(Image.new("RGB", (10, 10), "blue"))
        assert (block["type"], block["mime_type"]) == ("image", "image/png")

    def test_a_tool_returning_it_gets_its_image_moved_to_a_user_message(self) -> None:
        @tool
        def screenshot() -> list[dict[str, Any]]:
            """Take a screenshot."""
            return tool_image_content(png("red"), "Screenshot of the app")

        message = screenshot.invoke(
            {"name": "screenshot", "args": {}, "id": "call_1", "type": "tool_call"}
        )
        assert isinstance(message, ToolMessage)
        history = [
            HumanMessage("Look at the app"),
            AIMessage("", tool_calls=[{"name": "screenshot", "args": {}, "id": "call_1"}]),
            message,
        ]
        wire = prepare_messages(history).messages
        assert wire[2].content == [
            {"type": "text", "text": "Screenshot of the app"},
            {"type": "text", "text": "[image moved to the next user message]"},
        ]
        assert isinstance(wire[3], HumanMessage)
        assert wire[3].content[1] == {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(png("red")).decode()},
        }

    def test_content_and_artifact(self) -> None:
        @tool(response_format="content_and_artifact")
        def chart() -> tuple[list[dict[str, Any]], dict[str, str]]:
            """Draw a chart."""
            return tool_image_content(png("blue"), "Sales chart"), {"path": "chart.png"}

        message = chart.invoke({"name": "chart", "args": {}, "id": "c2", "type": "tool_call"})
        assert isinstance(message, ToolMessage)
        assert message.artifact == {"path": "chart.png"}
        assert message.content[0] == {"type": "text", "text": "Sales chart"}
        assert message.content[1]["type"] == "image"
