"""Loading a page is bounded before PDFium parses it: forms expanded at each use, content summed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import _pdf_forms
from langchain_flexai.images._doors import clear_image_cache
from langchain_flexai.images._pdf import iter_pdf_pages
from langchain_flexai.images._pdf_cost import MAX_PAGE_OBJECTS
from langchain_flexai.images._pdf_forms import FORM_USE_COST, MAX_PAGE_OPERATORS, PageLoadCosts
from tests.unit_tests import pdf_factory as pdfs


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_image_cache()


@pytest.fixture
def never_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the page must not be loaded")

    monkeypatch.setattr(pypdfium2.PdfDocument, "__getitem__", refuse)
    monkeypatch.setattr(pypdfium2.PdfDocument, "get_page", refuse)


def _refused(data: bytes, **kwargs: Any) -> ImageInputError:
    with pytest.raises(ImageInputError) as info:
        list(iter_pdf_pages(data, **kwargs))
    return info.value


def _nested_cost(levels: int, uses: int) -> int:
    """What nested_forms_pdf(levels, uses) costs: the page's stream, its one Do of the top form."""
    cost = 3  # the leaf: "0 0 m 1 1 l S", three operators
    for _ in range(levels - 1):
        cost = uses + uses * (FORM_USE_COST + cost)
    return 1 + 1 + FORM_USE_COST + cost


HOSTILE = {
    "forms nesting forms": lambda: pdfs.nested_forms_pdf(7),
    "a form drawn many times": lambda: pdfs.strokes_form_pdf(20_000, 100),
    "content split over many streams": lambda: pdfs.split_content_pdf(20, 100_000),
    "nested forms as an annotation's appearance": lambda: pdfs.nested_forms_pdf(7, annotation=True),
    "nested forms in an object stream": lambda: pdfs.reused_forms_pdf(
        3, levels=8, uses=10, packed=True
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.usefixtures("never_loaded")
def test_a_page_too_costly_to_load_is_refused_before_pdfium_loads_it(case: str) -> None:
    error = _refused(HOSTILE[case](), name="bomb.pdf")
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert str(error).startswith("bomb.pdf, page 1 of ")
    assert ": loading the page would parse about " in str(error)
    assert "Flatten the PDF (print it to a new PDF)" in str(error)
    assert error.source == "bomb.pdf"


def test_the_refusal_reads_as_docs_pdf_md_shows_it() -> None:
    error = _refused(pdfs.nested_forms_pdf(7), name="report.pdf")
    assert str(error) == (
        "report.pdf, page 1 of 1: loading the page would parse about 15,222,222 drawing operators"
        " (its forms drawn within forms, or its content split over many streams), more than the "
        "500,000 any real page needs; it is not rendered. Flatten the PDF (print it to a new PDF)"
        " or export the page as an image with a tool you trust (source: report.pdf)"
    )
    docs = (Path(__file__).parents[3] / "docs" / "pdf.md").read_text(encoding="utf-8")
    assert str(error) in docs


def test_the_count_is_exact_for_nested_forms() -> None:
    data = pdfs.nested_forms_pdf(7)
    assert PageLoadCosts(data, 1).cost(1) == _nested_cost(7, 10) == 15_222_222


def test_a_form_drawing_itself_is_refused() -> None:
    writer = pdfs._Writer()
    catalog, tree, form = writer.reserve(), writer.reserve(), writer.reserve()
    writer.set(
        form,
        f"<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /X {form} "
        "0 R >> >> /Length 6 >>\nstream\n/X Do\n\nendstream".encode(),
    )
    content = writer.add(b"<< /Length 6 >>\nstream\n/X Do\n\nendstream")
    page = writer.add(
        f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] /Resources << /XObject << "
        f"/X {form} 0 R >> >> /Contents {content} 0 R >>".encode()
    )
    writer.set(tree, f"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>".encode())
    writer.set(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    error = _refused(writer.write(catalog), name="loop.pdf")
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert "loop.pdf, page 1 of 1: the page's forms draw themselves" in str(error)


def test_an_unresolvable_name_costs_as_much_as_the_costliest_form() -> None:
    # The page's XObject names point at an object that is missing: assume the worst form.
    data = pdfs.strokes_form_pdf(20_000, 100).replace(b"/XObject << /X ", b"/XObject 99 0 R %")
    costs = PageLoadCosts(data, 1)
    assert costs.cost(1) == 1 + 1 * 100 + 100 * (FORM_USE_COST + 60_000)


@pytest.mark.parametrize("packed", [False, True])
def test_a_report_reusing_a_logo_form_on_every_page_renders(packed: bool) -> None:
    data = pdfs.reused_forms_pdf(20, levels=4, uses=5, packed=packed)
    costs = PageLoadCosts(data, 20)
    assert [costs.cost(n) for n in (1, 20)] == [costs.cost(2)] * 2
    assert 2_000 < costs.cost(1) < MAX_PAGE_OPERATORS // 100  # the walk, not a bound, ran
    pages = list(iter_pdf_pages(data, text=True))
    assert [p.text for p in pages] == [f"page {n} of the report" for n in range(1, 21)]


def test_ordinary_pdfs_are_far_within_the_budget() -> None:
    report = pdfs.make_pdf(
        ["\n".join(f"line {i} of page {p}, " * 4 for i in range(55)) for p in range(20)],
        compress=True,
    )
    buffer = io.BytesIO()
    scans = [Image.new("RGB", (850, 1100), (255 - n, 250, 240)) for n in range(3)]
    scans[0].save(buffer, "PDF", save_all=True, append_images=scans[1:], resolution=100)
    for data, count in ((report, 20), (buffer.getvalue(), 3)):
        costs = PageLoadCosts(data, count)
        assert max(costs.cost(n) for n in range(1, count + 1)) < MAX_PAGE_OPERATORS // 10
        assert len(list(iter_pdf_pages(data))) == count


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(1, 8), uses=st.integers(1, 12))
def test_nested_forms_are_rendered_or_refused_by_structure(levels: int, uses: int) -> None:
    data = pdfs.nested_forms_pdf(levels, uses)
    expected = _nested_cost(levels, uses)
    counted = PageLoadCosts(data, 1).cost(1)
    assert counted == expected
    # What PDFium counts once loaded: every form used, and the strokes of the leaves.
    objects = sum(uses**k for k in range(levels)) + uses ** (levels - 1)
    if expected <= MAX_PAGE_OPERATORS and objects <= MAX_PAGE_OBJECTS:
        (page,) = iter_pdf_pages(data, name="n.pdf")
        assert page.image.width > 0
        return
    error = _refused(data, name="n.pdf")
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    # Over the load budget: refused before loading; under it, by the drawn-object count.
    if expected > MAX_PAGE_OPERATORS:
        assert "n.pdf, page 1 of 1: loading the page would parse" in str(error)
    else:
        assert "more than 8000 drawing objects" in str(error)


def test_a_file_with_too_many_objects_to_walk_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pdf_forms, "MAX_INDEXED_OBJECTS", 20)
    error = _refused(pdfs.reused_forms_pdf(20), name="big.pdf")
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert str(error).startswith("big.pdf, page 1 of 20: the PDF holds more than 20 objects")


@settings(max_examples=60, deadline=None)
@given(
    packed=st.booleans(),
    cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=8)), max_size=4),
)
def test_damaged_forms_cost_a_number_or_our_error(
    packed: bool, cuts: list[tuple[int, bytes]]
) -> None:
    data = pdfs.reused_forms_pdf(3, levels=3, uses=4, packed=packed)
    for position, junk in cuts:
        data = data[:position] + junk + data[position + len(junk) :]
    try:
        outcome: object = PageLoadCosts(data, 3).cost(2)
    except ImageInputError as error:  # only ours, and only the structural refusal
        outcome = error.reason
    assert outcome is ImageErrorReason.TOO_COMPLEX or (isinstance(outcome, int) and outcome >= 0)


def test_a_pdfium_written_document_reusing_a_page_as_a_form_renders() -> None:
    # PDFium's own writer (FPDF_SaveAsCopy, what pypdfium2 saves) writes plain objects only.
    source = pypdfium2.PdfDocument(pdfs.make_pdf(["letterhead\nsecond line"]))
    written = pypdfium2.PdfDocument.new()
    form = source.page_as_xobject(0, written)
    for _ in range(20):
        page = written.new_page(612, 792)
        for column in range(3):
            placed = form.as_pageobject()
            placed.transform(pypdfium2.PdfMatrix().scale(0.2, 0.2).translate(150 * column, 50))
            page.insert_obj(placed)
        page.gen_content()
    buffer = io.BytesIO()
    written.save(buffer)
    data = buffer.getvalue()
    assert b"/ObjStm" not in data
    assert data.count(b"/Subtype /Form") + data.count(b"/Subtype/Form") >= 1
    costs = PageLoadCosts(data, 20)
    assert costs.cost(1) == costs.cost(20) < 1_000
    assert len(list(iter_pdf_pages(data))) == 20


def test_a_file_too_large_to_walk_is_judged_by_a_bound_that_must_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pdf_forms, "MAX_INDEXED_OBJECTS", 3)
    assert len(list(iter_pdf_pages(pdfs.make_pdf(["a plain page", "another"])))) == 2
    # One stream listed many times in a page's array: the whole-file bound cannot see it.
    repeated = pdfs.split_content_pdf(1, 10).replace(b"/Contents [", b"/Contents [ ")
    assert _refused(repeated).reason is ImageErrorReason.TOO_COMPLEX
    assert "objects and its pages draw forms" in str(_refused(pdfs.nested_forms_pdf(3)))


def test_a_stream_listed_many_times_in_one_page_is_counted_each_time() -> None:
    data = pdfs.split_content_pdf(1, 1_000)
    reference = data.split(b"/Contents [")[1].split(b"]")[0] + b" "

    def listed(times: int) -> bytes:
        return data.replace(b"/Contents [", b"/Contents [" + reference * (times - 1))

    assert PageLoadCosts(listed(100), 1).cost(1) == 100 * (1 + 3_000)
    assert _refused(listed(200)).reason is ImageErrorReason.TOO_COMPLEX
