"""The sample PDF the examples and docs use: a three-page quarterly report with a text layer.

``examples/report.pdf`` is this module's output, byte for byte (a test checks it); run
``python examples/_report_pdf.py`` to write it again. The PDF is written by hand, so no PDF
library is needed to make it: each page draws its text in Helvetica (one of the fonts every PDF
reader has, so nothing is embedded) and page 2 draws a bar chart in blue.
"""

from __future__ import annotations

from pathlib import Path

PAGES: list[tuple[list[str], list[tuple[int, int, int, int]]]] = [
    (
        [
            "Northwind Traders - Quarterly report, Q3 2026",
            "",
            "Summary",
            "Revenue grew 12% over the quarter, to 4.2 million euros.",
            "Operating costs fell 3%: shipping contracts were renegotiated in July.",
            "The warehouse in Lyon opened on 14 August and now serves the south.",
        ],
        [],
    ),
    (
        ["Figure 1: revenue by quarter, in million euros (blue bars)"],
        # The bars cover most of the page, so the page looks blue.
        [(40, 60, 120, 600), (170, 60, 120, 640), (300, 60, 120, 660), (430, 60, 140, 690)],
    ),
    (
        [
            "Appendix: shipping",
            "",
            "Parcels shipped: 182,400 (Q2: 165,100).",
            "Average delivery time: 2.1 days, down from 2.6 days.",
            "Returns: 1.8% of parcels.",
        ],
        [],
    ),
]
WIDTH, HEIGHT = 612, 792  # US Letter, in points


def _text(lines: list[str]) -> bytes:
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    shown = " ".join(f"({line}) '" for line in escaped)
    return f"BT /F1 14 Tf 18 TL 40 {HEIGHT - 40} Td {shown} ET".encode("latin-1")


def _bars(bars: list[tuple[int, int, int, int]]) -> bytes:
    return b"".join(f"0.1 0.3 0.9 rg {x} {y} {w} {h} re f ".encode() for x, y, w, h in bars)


def report_pdf() -> bytes:
    """The sample report's bytes: a valid PDF 1.4 file with an exact cross-reference table."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, written once the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for lines, bars in PAGES:
        content = _bars(bars) + b"0 0 0 rg " + _text(lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (WIDTH, HEIGHT, len(objects))
        )
        kids.append(len(objects))
    refs = " ".join(f"{kid} 0 R" for kid in kids).encode()
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "report.pdf"
    target.write_bytes(report_pdf())
    print(f"wrote {target} ({target.stat().st_size} bytes)")
