"""PDFs end to end: ChatFlexAI renders the pages, the real openai SDK sends them, the emulator
reads them. The pages differ in shape (portrait, landscape, square), so the emulator's answer,
one line per image in the order received, shows the order; the request it logged shows the
labels and images exactly as sent.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_flexai import ImageInputError, pdf_block
from langchain_flexai.images._pdf import iter_pdf_pages
from langchain_flexai.testing import FlexAIEmulator
from tests.unit_tests import pdf_factory as pdfs

THREE_PAGES = pdfs.make_pdf(
    ["Cover", "Figures", "Appendix"], boxes=[(612, 792), (792, 612), (600, 600)], compress=True
)


def _expected_parts(name: str) -> list[dict[str, object]]:
    parts: list[dict[str, object]] = []
    for page in iter_pdf_pages(THREE_PAGES, name=name):
        parts.append({"type": "text", "text": f"{name}, page {page.number} of 3"})
        parts.append({"type": "image_url", "image_url": {"url": page.image.url}})
    return parts


def test_three_pages_reach_the_emulator_in_order_with_their_labels(
    flexai_emulator: FlexAIEmulator,
) -> None:
    block = {
        "type": "file",
        "file": {
            "filename": "report.pdf",
            "file_data": "data:application/pdf;base64," + base64.b64encode(THREE_PAGES).decode(),
        },
    }
    reply = flexai_emulator.chat_model().invoke(
        [HumanMessage(content=["Summarise this report.", block])]
    )
    assert flexai_emulator.requests[-1].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Summarise this report."},
                *_expected_parts("report.pdf"),
            ],
        }
    ]
    assert reply.content == (
        "Received 1 message with 4 text parts and 3 images.\n"
        "Image 1: JPEG 1582x2048, white.\n"
        "Image 2: JPEG 2048x1582, white.\n"
        "Image 3: JPEG 2048x2048, white."
    )
    assert reply.response_metadata["images_sent"] == 3


def test_the_explicit_door_sends_chosen_pages(
    flexai_emulator: FlexAIEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(THREE_PAGES)
    message = HumanMessage(content=["What is in the appendix?", *pdf_block(path, pages="3,1")])
    reply = flexai_emulator.chat_model().invoke([message])
    sent = flexai_emulator.requests[-1].body["messages"][0]["content"]
    assert [p["text"] for p in sent if p["type"] == "text"] == [
        "What is in the appendix?",
        "report.pdf, page 3 of 3",
        "report.pdf, page 1 of 3",
    ]
    assert str(reply.content).splitlines()[1:] == [
        "Image 1: JPEG 2048x2048, white.",
        "Image 2: JPEG 1582x2048, white.",
    ]


async def test_a_pdf_returned_by_a_tool_reaches_the_model_as_pages(
    flexai_emulator: FlexAIEmulator,
) -> None:
    call = {"type": "tool_call", "id": "call_1", "name": "fetch_report", "args": {}}
    messages = [
        HumanMessage(content="Fetch the report and summarise it."),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(
            content=[
                {
                    "type": "file",
                    "base64": base64.b64encode(THREE_PAGES).decode(),
                    "mime_type": "application/pdf",
                    "extras": {"filename": "report.pdf"},
                }
            ],
            tool_call_id="call_1",
        ),
    ]
    reply = await flexai_emulator.chat_model().ainvoke(messages)
    sent = flexai_emulator.requests[-1].body["messages"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": [{"type": "text", "text": "[PDF pages moved to the next user message]"}],
    }
    assert sent[3]["role"] == "user"
    assert sent[3]["content"][1:] == _expected_parts("report.pdf")
    assert "Image 3: JPEG 2048x2048, white." in str(reply.content)


def test_an_encrypted_pdf_is_refused_before_sending(flexai_emulator: FlexAIEmulator) -> None:
    before = len(flexai_emulator.requests)
    block = {
        "type": "file",
        "base64": base64.b64encode(pdfs.encrypted_pdf(["secret"])).decode(),
        "mime_type": "application/pdf",
    }
    with pytest.raises(ImageInputError, match="protected by a password"):
        flexai_emulator.chat_model().invoke([HumanMessage(content=[block])])
    assert len(flexai_emulator.requests) == before
