"""flexai-vision describe with PDFs, against the emulator: one record per page, resume per page.

Every PDF is generated in the test (``tests.unit_tests.pdf_factory``). The records' exact content
is checked: the emulator's answer names what it received (format, size, colour of each page
image), so each record is tied to the page it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_flexai.cli import _main as cli
from langchain_flexai.describe._records import DEFAULT_PROMPT
from langchain_flexai.images._pdf import iter_pdf_pages
from langchain_flexai.testing import FlexAIEmulator, RecordedRequest
from tests.integration_tests import _target
from tests.unit_tests.pdf_factory import make_pdf

pytestmark = pytest.mark.skipif(_target.LIVE, reason="checks the emulator's exact answers")

REPORT = ["Quarterly revenue grew\nby ten percent", "Costs fell", "Appendix: shipping tables"]


def chat_requests(emulator: FlexAIEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/chat/completions"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlexAIEmulator]:
    with FlexAIEmulator() as emu:
        monkeypatch.setenv("FLEXAI_API_BASE", emu.base_url)
        monkeypatch.setenv("FLEXAI_API_KEY", emu.api_key)
        yield emu


def write_report(path: Path, pages: list[str] = REPORT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_pdf(pages))
    return path


def answer(page: Any) -> str:
    """What the emulator answers for a page image (mostly white paper)."""
    fmt = page.image.mime_type.rsplit("/", 1)[-1].upper()
    return (
        "Received 1 message with 1 text part and 1 image.\n"
        f"Image 1: {fmt} {page.image.width}x{page.image.height}, white."
    )


def pages_of(path: Path) -> list[Any]:
    return list(iter_pdf_pages(path.read_bytes(), name=str(path)))


def test_one_json_record_per_page(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_report(tmp_path / "report.pdf")
    code, out, err = run(["describe", str(path), "--json"], capsys)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    usage = records[0]["usage"]
    assert usage["output_tokens"] > 0
    assert all(r["response_id"].startswith("chatcmpl-") for r in records)
    assert all(isinstance(r["cost_usd"], float) and r["cost_usd"] > 0 for r in records)
    assert records == [
        {
            "source": str(path),
            "page": page.number,
            "sha256": page.image.sha256,
            "status": "described",
            "description": answer(page),
            "usage": usage,
            "cached": False,
            "error": None,
            "reason": None,
            "model": "phi-4-multimodal-instruct",
            "prompt_sha256": hashlib.sha256(DEFAULT_PROMPT.encode()).hexdigest(),
            "response_id": record["response_id"],
            "finish_reason": "stop",
            "cost_usd": record["cost_usd"],
            "width": page.image.width,
            "height": page.image.height,
            "mime_type": page.image.mime_type,
            "transformations": list(page.image.transformations),
            "data": None,
            "sidecar": None,
            "sidecar_status": None,
        }
        for page, record in zip(pages_of(path), records, strict=True)
    ]
    assert len(chat_requests(emulator)) == 3
    assert err.startswith("flexai-vision: 3 described, 0 from cache, 0 skipped, 0 failed; ")


def test_text_output_names_each_page(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_report(tmp_path / "report.pdf")
    code, out, _ = run(["describe", str(path), "--pages", "1,3"], capsys)
    assert code == 0
    pages = pages_of(path)
    assert out == "".join(
        f"{path}, page {page.number}\n"
        + "".join(f"  {line}\n" for line in answer(page).split("\n"))
        for page in (pages[0], pages[2])
    )


def test_folder_with_pdfs_and_a_bad_one(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "reports"
    write_report(folder / "a.pdf", ["Only page"])
    broken = folder / "b.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    write_report(folder / "c.pdf", ["One", "Two"])
    code, out, err = run(["describe", str(folder), "--json"], capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    shown = [(Path(r["source"]).name, r["page"], r["status"]) for r in records]
    assert shown == [
        ("a.pdf", 1, "described"),
        ("b.pdf", None, "skipped"),
        ("c.pdf", 1, "described"),
        ("c.pdf", 2, "described"),
    ]
    assert records[1]["sha256"] is None
    assert records[1]["description"] is None
    lines = err.splitlines()
    assert lines[0] == f"flexai-vision: skipped {broken}: {records[1]['error']}"
    assert lines[1].startswith("flexai-vision: 3 described, 0 from cache, 1 skipped, 0 failed; ")


def test_resume_asks_only_for_the_changed_page(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_report(tmp_path / "report.pdf")
    out_file = tmp_path / "pages.jsonl"
    argv = ["describe", str(path), "--out", str(out_file), "--resume"]
    assert run(argv, capsys)[0] == 0
    assert len(chat_requests(emulator)) == 3

    assert run(argv, capsys)[0] == 0
    assert len(chat_requests(emulator)) == 3  # the second run asks nothing
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [(r["page"], r["status"]) for r in rows] == [(1, "cached"), (2, "cached"), (3, "cached")]

    write_report(path, [REPORT[0], "Costs fell sharply", REPORT[2]])
    assert run(argv, capsys)[0] == 0
    sent = chat_requests(emulator)[3:]
    assert len(sent) == 1  # only the edited page
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [(r["page"], r["status"]) for r in rows] == [
        (1, "cached"),
        (2, "described"),
        (3, "cached"),
    ]
    assert rows[1]["sha256"] == pages_of(path)[1].image.sha256


def test_a_pdf_fetched_with_fetch_gives_a_record_per_page(
    emulator: FlexAIEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langchain_flexai._loader import _remote  # noqa: PLC0415 - its fetch is stubbed

    served = make_pdf(REPORT)
    asked: list[str] = []

    def fetch(url: str, policy: object, *, max_bytes: int) -> bytes:
        asked.append(url)
        return served

    monkeypatch.setattr(_remote, "fetch_image_bytes", fetch)
    url = "https://files.example.com/report.pdf?id=7&sig=secret"
    code, out, err = run(["describe", url, "--fetch", "--json", "--pages", "1,3"], capsys)
    assert code == 0, err
    assert asked == [url]
    records = [json.loads(line) for line in out.splitlines()]
    pages = [p for p in iter_pdf_pages(served) if p.number in (1, 3)]
    assert [(r["source"], r["page"], r["description"]) for r in records] == [
        ("https://files.example.com/report.pdf?…", page.number, answer(page)) for page in pages
    ]
    assert "secret" not in out + err
    assert len(chat_requests(emulator)) == 2


def test_a_pdf_url_without_fetch_is_skipped_and_nothing_is_sent(
    emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["describe", "https://files.example.com/r.pdf?sig=s", "--json"], capsys)
    assert code == 1, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert (record["source"], record["status"], record["reason"]) == (
        "https://files.example.com/r.pdf?…",
        "skipped",
        "unsupported_url",
    )
    assert record["error"] == (
        "a PDF is not sent by its URL (FlexAI reads images); add --fetch to fetch it "
        "and send its pages"
    )
    assert chat_requests(emulator) == []
