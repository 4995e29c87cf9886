"""CPU cost of PDFs at the edges of the rendering budget: the table in docs/pdf.md, "Costs".

Run from the project root: ``python -m tests.benchmarks.pdf_costs``. Not a paired benchmark (no
``bench_`` prefix, so ``make bench`` skips it): single CPU-second figures of hostile and edge
inputs built by ``tests/unit_tests/pdf_factory.py``, each rendered (or refused) once.
"""

from __future__ import annotations

import time

from langchain_flexai.errors import ImageInputError
from langchain_flexai.images._doors import clear_image_cache
from langchain_flexai.images._pdf import iter_pdf_pages
from tests.unit_tests import pdf_factory as f


def cpu(label: str, data: bytes) -> str:
    """One table row: the input, what happened to it, the CPU seconds it took."""
    clear_image_cache()
    start = time.process_time()
    try:
        count = len(list(iter_pdf_pages(data)))
        outcome = f"rendered, {count} page{'s' if count > 1 else ''}"
    except ImageInputError as error:
        outcome = f"`{error.reason.value}`"
    spent = time.process_time() - start
    return f"| {label} ({len(data):,} bytes) | {outcome} | {spent:.2f} s |"


def main() -> None:
    """Print the table."""
    line = "the quick brown fox jumps over the lazy dog, again and again."
    text = "\n".join(f"Line {i}: {line}" for i in range(55))
    fill = b"0 0 612 792 re f\n"
    run = b"BT /F1 12 Tf 36 700 Td (Hello world, a line of text) Tj ET\n"
    cases = [
        ("20-page text PDF, 55 lines a page", f.make_pdf([text] * 20, compress=True)),
        ("269 full-page fills", f.make_pdf_with_ops(fill * 269)),
        ("271 full-page fills", f.make_pdf_with_ops(fill * 271)),
        ("7,999 text runs", f.make_pdf_with_ops(run * 7999)),
        (
            "one path of 10,700 segments across the page",
            f.make_pdf_with_ops(b"0 0 m " + b"612 792 l 0 0 l " * 5350 + b"S\n"),
        ),
        ("a 2.9 MiB content stream", f.inflating_content_pdf(3 * 1024 * 1024 - 100 * 1024)),
        ("a 64 MiB content stream (bomb)", f.inflating_content_pdf(64 * 1024 * 1024)),
        ("a 10,000 x 10,000 image", f.image_bomb_pdf(10_000)),
        ("a 100,000 x 100,000 image (bomb)", f.image_bomb_pdf(100_000)),
        ("a page tree of 524,288 pages", f.claimed_pages_pdf(19)),
        (
            "20-page report drawing a logo form on every page",
            f.reused_forms_pdf(20, levels=4, uses=5),
        ),
        ("forms 4 deep, each drawing the one below 10 times", f.nested_forms_pdf(4)),
        ("forms 5 deep (152,000 operators expanded)", f.nested_forms_pdf(5)),
        ("forms 6 deep (1.5 M operators expanded)", f.nested_forms_pdf(6)),
        ("forms 7 deep (15 M operators expanded)", f.nested_forms_pdf(7)),
        ("forms 9 deep (1.5 G operators expanded)", f.nested_forms_pdf(9)),
        ("forms 7 deep as an annotation's appearance", f.nested_forms_pdf(7, annotation=True)),
        ("a form of 20,000 strokes drawn 100 times", f.strokes_form_pdf(20_000, 100)),
        ("5 content streams of 33,000 strokes (495,000 operators)", f.split_content_pdf(5, 33_000)),
        ("6 content streams of 33,000 strokes (594,000 operators)", f.split_content_pdf(6, 33_000)),
        ("20 content streams of 100,000 strokes", f.split_content_pdf(20)),
    ]
    print("| input | outcome | CPU |\n|---|---|---|")
    for label, data in cases:
        print(cpu(label, data), flush=True)


if __name__ == "__main__":
    main()
