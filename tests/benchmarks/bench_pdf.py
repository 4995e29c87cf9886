"""PDF pages to wire-ready images: our renderer against the route tutorials teach, and its memory.

The document is a generated 20-page, text-heavy Letter PDF (60 lines of words per page, a real
text layer), rendered at the default policy's size (long side 2048 px) by
:func:`langchain_flexai.images._pdf.iter_pdf_pages` (PDFium), each page ending as the data URL
that is sent. The baseline is what users copy from tutorials: PyMuPDF ``get_pixmap(dpi=200)``, a
Pillow image from the samples, re-encoded (PNG, the usual choice; JPEG shown too) and base64'd
with the standard library. pdf2image (a ``pdftoppm`` subprocess per call, poppler) is the other
route tutorials show; it is timed only when both are installed, and the output says when not.

Memory: every page is rendered, encoded and dropped before the next, so peak RSS should not
grow with the page count. A fresh interpreter renders a 5-page and a 40-page PDF (each its own
child), and the row compares their peak RSS above what the child held after imports and reading
the bytes (as ``bench_decode_memory`` measures).

Run alone: ``python -m tests.benchmarks pdf``.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from langchain_flexai.images._doors import _CACHE
from langchain_flexai.images._pdf import iter_pdf_pages
from langchain_flexai.images._policy import DEFAULT_POLICY
from tests.benchmarks._paired import PairedResult, paired
from tests.unit_tests.pdf_factory import make_pdf

PAGES = 20
_DPI = 200
_ROUNDS = 5
_WORDS = [
    "revenue",
    "quarter",
    "growth",
    "margin",
    "forecast",
    "region",
    "customer",
    "contract",
    "invoice",
    "total",
    "balance",
    "operating",
    "expense",
    "capital",
    "shipment",
    "inventory",
    "supplier",
    "audit",
    "summary",
    "figure",
    "table",
    "note",
]


def text_pages(count: int, seed: int = 13) -> list[str]:
    """``count`` pages of 60 lines of words each (what a report page holds)."""
    rng = random.Random(seed)
    return [
        "\n".join(
            f"{page}.{line} " + " ".join(rng.choice(_WORDS) for _ in range(11))
            for line in range(1, 61)
        )
        for page in range(1, count + 1)
    ]


def ours(data: bytes) -> Callable[[], object]:
    """Every page to its data URL through our path (the default policy)."""

    def render() -> int:
        _CACHE.clear()  # rendered pages are cached by the PDF's hash: time the rendering
        total = 0
        for page in iter_pdf_pages(data, name="report.pdf", policy=DEFAULT_POLICY):
            total += len(page.image.url)
        return total

    return render


def tutorial(data: bytes, fmt: str) -> Callable[[], object]:
    """PyMuPDF at 200 dpi, Pillow re-encode, stdlib base64: the route tutorials teach."""
    import pymupdf  # noqa: PLC0415 - the baseline only (dev group `bench`)

    def render() -> int:
        total = 0
        with pymupdf.open(stream=data, filetype="pdf") as document:
            for page in document:
                pixmap = page.get_pixmap(dpi=_DPI)
                image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
                buffer = io.BytesIO()
                image.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
                total += len(base64.b64encode(buffer.getvalue()))
        return total

    return render


def pdf2image_route(data: bytes) -> Callable[[], object] | None:
    """pdf2image's ``convert_from_bytes`` at 200 dpi then PNG, when poppler is installed."""
    if importlib.util.find_spec("pdf2image") is None or shutil.which("pdftoppm") is None:
        return None
    from pdf2image import convert_from_bytes  # type: ignore[import-not-found]  # noqa: PLC0415

    def render() -> int:
        total = 0
        for image in convert_from_bytes(data, dpi=_DPI):
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            total += len(base64.b64encode(buffer.getvalue()))
        return total

    return render


_CHILD = r"""
import resource, sys
from langchain_flexai.images._doors import _CACHE
from langchain_flexai.images._pdf import iter_pdf_pages
data = open(sys.argv[1], "rb").read()
cached = sys.argv[2] == "cached"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pages = 0
for page in iter_pdf_pages(data, name="report.pdf"):
    pages += 1
    if not cached:
        _CACHE.clear()  # the renderer alone: no rendered page kept once it is handed on
print(before, pages)
"""
# As in bench_decode_memory: the parent's RUSAGE_CHILDREN after the child exits is the child's
# true peak, and each child gets a parent of its own (the figure is a maximum over children).
_PARENT = r"""
import resource, subprocess, sys
out = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True,
                     text=True, check=True).stdout
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out)
"""


def peak_extra_mib(path: Path, *, cached: bool) -> tuple[float, int]:
    """Peak RSS above the post-import baseline of a fresh child rendering ``path``, and pages."""
    done = subprocess.run(
        [sys.executable, "-c", _PARENT, _CHILD, str(path), "cached" if cached else "cleared"],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, before, pages = done.stdout.split()
    return (int(peak) - int(before)) / 1024, int(pages)


def memory_rows() -> list[str]:
    """Peak extra RSS rendering 40 pages against 5 (each in a fresh interpreter).

    Twice: the renderer alone (the page cache emptied after each page), and as it runs by
    default, when the prepared-image cache keeps every rendered page (bounded at 256 MiB).
    """
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for count in (5, 40):
            paths[count] = Path(folder) / f"report-{count}.pdf"
            paths[count].write_bytes(make_pdf(text_pages(count)))
        for cached, label, target in (
            (False, "rendering alone", "within 10%"),
            (True, "with the page cache (default)", "informational"),
        ):
            small, small_pages = peak_extra_mib(paths[5], cached=cached)
            large, large_pages = peak_extra_mib(paths[40], cached=cached)
            assert (small_pages, large_pages) == (5, 40)
            growth = (large - small) / small * 100 if small else 0.0
            rows.append(
                f"| PDF peak extra RSS (fresh process), {large_pages} pages vs {small_pages}, "
                f"{label} | {large:.1f} MiB | {small:.1f} MiB | {growth:+.0f}% | {target} |"
            )
    return rows


def run() -> list[PairedResult | str]:
    """Paired ratios against the tutorial routes, then the memory row."""
    data = make_pdf(text_pages(PAGES))
    first = next(iter_pdf_pages(data, name="report.pdf"))
    size = f"{first.image.width}×{first.image.height} {first.image.mime_type}"
    rows: list[PairedResult | str] = [
        paired(
            f"{PAGES}-page text PDF → data URLs at the policy's size ({size}), vs PyMuPDF "
            f"get_pixmap({_DPI} dpi) + Pillow PNG + base64",
            ours(data),
            tutorial(data, "PNG"),
            rounds=_ROUNDS,
            target="≥ 3×",
        ),
        paired(
            f"{PAGES}-page text PDF → data URLs ({size}), vs PyMuPDF get_pixmap({_DPI} dpi) "
            "+ Pillow JPEG q85 + base64",
            ours(data),
            tutorial(data, "JPEG"),
            rounds=_ROUNDS,
            target="informational",
        ),
    ]
    poppler = pdf2image_route(data)
    if poppler is None:
        rows.append(
            "| vs pdf2image (poppler `pdftoppm` subprocess) | — | — | — | not measured: "
            "pdf2image or poppler-utils is not installed on this machine |"
        )
    else:
        rows.append(
            paired(
                f"{PAGES}-page text PDF → data URLs, vs pdf2image ({_DPI} dpi) + PNG + base64",
                ours(data),
                poppler,
                rounds=_ROUNDS,
                target="≥ 3×",
            )
        )
    rows.extend(memory_rows())
    return rows
