"""Extract fields from receipts to CSV: vendor, date and total for each photo, one row each.

Each image is answered through `with_structured_output` with the `Receipt` schema (the method
comes from FlexAI's catalog for the model), the answer is validated, and the CSV gets one column
per field after the standard ones. An answer that does not fit the schema is a `failed` row with
the reason, not a crash. Offline, the emulator answers every receipt with the same
schema-valid placeholder (it does not read images); with FLEXAI_API_KEY set, a vision model
reads them.

Run: python examples/receipts_to_csv.py [FOLDER] [OUT.csv]
(the `flexai-vision describe FOLDER --schema receipt.json --out receipts.csv` command does
the same with a JSON Schema file)
Needs: langchain-flexai[testing] (the offline emulator), pydantic (installed with langchain-core)
"""

import csv
import datetime as dt
import sys
import tempfile
from pathlib import Path

from _flexai import flexai
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field

from langchain_flexai import FlexAIImageLoader
from langchain_flexai.describe import ImageDescriber, open_writer


class Receipt(BaseModel):
    """The fields of a shop receipt."""

    vendor: str = Field(description="the shop's name, as printed at the top")
    date: dt.date = Field(description="the purchase date")
    total: float = Field(ge=0, description="the amount paid, in the receipt's currency")


def make_receipts(folder: Path) -> None:
    """A few receipt-like images (text drawn on white), so the example needs no files."""
    for name, lines in {
        "bakery.png": ["ROSE BAKERY", "2026-11-28", "2 croissants  4.80", "TOTAL  4.80"],
        "grocer.png": ["CORNER GROCER", "2026-11-29", "apples  3.10", "milk  1.20", "TOTAL  4.30"],
        "cafe.png": ["CAFE NORD", "2026-11-30", "espresso  2.50", "TOTAL  2.50"],
    }.items():
        image = Image.new("RGB", (200, 40 + 20 * len(lines)), "white")
        draw = ImageDraw.Draw(image)
        for row, text in enumerate(lines):
            draw.text((12, 12 + 20 * row), text, fill="black")
        image.save(folder / name)


args = sys.argv[1:]
if args:
    folder = Path(args[0])
else:
    folder = Path(tempfile.mkdtemp())
    make_receipts(folder)
out = Path(args[1]) if args[1:] else Path(tempfile.mkdtemp()) / "receipts.csv"

with flexai() as chat_model:
    describer = ImageDescriber(
        chat_model(),
        "Read this receipt: the vendor's name, the purchase date and the total paid.",
        schema=Receipt,
        max_concurrency=4,
    )
    loader = FlexAIImageLoader(folder, describer=describer, on_error="skip")
    # The standard columns wanted, then one column per field of the schema.
    fields = Receipt.model_json_schema()["properties"]
    with open_writer(out, columns=("source", "status", "error"), properties=fields) as writer:
        for record in loader.lazy_describe():
            writer.write(record)
    report = describer.report
    print(f"{report.described} described, {report.failed} failed, {report.requests} requests")

print(f"\n{out.name}:")
with out.open(newline="", encoding="utf-8") as table:
    rows = csv.DictReader(table)
    print(",".join(rows.fieldnames or ()))
    for row in rows:
        row["source"] = Path(row["source"]).name  # the CSV holds the whole path
        print(",".join(row.values()))
