"""Ask about a PDF report: its pages go to a vision model as images, each labelled with its page.

FlexAI's vision models read images, not PDFs, so ChatFlexAI renders each page (PDFium) and sends
it after a short label ("report.pdf, page 2 of 3") the model can cite. pdf_block() is the door
for a PDF your own code trusts, and chooses pages; a PDF already inside message content (a
LangChain file block, an OpenAI file part, an Anthropic document) is rendered the same way.

Run: python examples/pdf_report.py [path/to/report.pdf]
Needs: langchain-flexai[testing] (the offline emulator), langchain-flexai[pdf] (PDFium)
"""

import base64
import sys
import tempfile
from pathlib import Path

from _flexai import flexai
from langchain_core.messages import HumanMessage
from PIL import Image, ImageDraw

from langchain_flexai import pdf_block


def sample_report(folder: Path) -> Path:
    """A three-page report drawn with Pillow and saved as a PDF (a stand-in for yours)."""
    pages = []
    for title, bars in [("Summary", (3, 5, 4)), ("Revenue by region", (6, 2, 5)), ("Outlook", ())]:
        page = Image.new("RGB", (850, 1100), "white")
        draw = ImageDraw.Draw(page)
        draw.text((60, 60), title, fill="black", font_size=40)
        for number, height in enumerate(bars):
            x = 120 + number * 200
            draw.rectangle((x, 900 - height * 120, x + 120, 900), fill=(40, 90, 200))
        pages.append(page)
    path = folder / "report.pdf"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    return path


with tempfile.TemporaryDirectory() as tmp:
    report = Path(sys.argv[1]) if len(sys.argv) > 1 else sample_report(Path(tmp))
    with flexai() as chat_model:
        model = chat_model()

        # 1. The explicit door: your code reads the file and chooses the pages.
        question = "Which region had the highest revenue? Cite the page."
        content = [{"type": "text", "text": question}, *pdf_block(report, pages="1-2")]
        reply = model.invoke([HumanMessage(content=content)])
        print("pages 1-2 through pdf_block:")
        print(reply.text)

        # 2. A PDF already in message content, as LangChain's standard file block.
        block = {
            "type": "file",
            "base64": base64.b64encode(report.read_bytes()).decode(),
            "mime_type": "application/pdf",
            "extras": {"filename": report.name},
        }
        reply = model.invoke([HumanMessage(content=["Summarise this report.", block])])
        print("\nthe whole PDF as a file block:")
        print(reply.text)
        print("images sent:", reply.response_metadata["images_sent"])
