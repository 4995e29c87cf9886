"""PDF pages as images: rendering, the text layer, page choices, bad PDFs, the lock, the door."""

from __future__ import annotations

import builtins
import io
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import langchain_flexai
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import _pdf, _pdf_cost, _pdf_structure, pdf_block
from langchain_flexai.images._doors import clear_image_cache
from langchain_flexai.images._pdf import (
    PdfPage,
    iter_pdf_pages,
    page_label,
    parse_pages,
    pdf_page_count,
    render_size,
)
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests import pdf_factory as pdfs


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_image_cache()


def _decoded(page: PdfPage) -> Image.Image:
    im = Image.open(io.BytesIO(page.image.data()))
    im.load()
    return im


def _refused(data: bytes, **kwargs: Any) -> ImageInputError:
    with pytest.raises(ImageInputError) as info:
        list(iter_pdf_pages(data, **kwargs))
    return info.value


# -- rendering ----------------------------------------------------------------------------------


def test_pages_render_in_order_with_their_text_layer() -> None:
    data = pdfs.make_pdf(["Quarterly report\nRevenue up", "", "Appendix"], compress=True)
    pages = list(iter_pdf_pages(data, name="report.pdf", text=True))
    assert [(p.number, p.count, p.text) for p in pages] == [
        (1, 3, "Quarterly report\nRevenue up"),
        (2, 3, ""),
        (3, 3, "Appendix"),
    ]
    for page in pages:
        assert page.image.source == f"report.pdf#page={page.number}"
        assert page.image.transformations[0] == "rendered_page"
        assert page.image.original_mime_type == "application/pdf"
        assert page.image.url.startswith(f"data:{page.image.mime_type};base64,")
        im = _decoded(page)
        assert im.size == (page.image.width, page.image.height) == (1582, 2048)


def test_text_is_empty_unless_asked() -> None:
    (page,) = iter_pdf_pages(pdfs.make_pdf(["words"]))
    assert page.text == ""


def test_drawn_text_is_dark_on_white() -> None:
    # The page really is drawn: Helvetica's glyphs at the top left, white elsewhere.
    (page,) = iter_pdf_pages(pdfs.make_pdf(["MMMMMMMMMMMMMMMMMMMM"], font_size=40))
    im = _decoded(page).convert("L")
    assert im.getpixel((im.width - 5, im.height - 5)) > 240
    top = im.crop((0, 0, im.width // 2, im.height // 8))
    assert top.getextrema()[0] < 60


@pytest.mark.parametrize(
    ("box", "policy", "expected"),
    [
        ((612, 792), ImagePolicy(), (1582, 2048)),
        ((792, 612), ImagePolicy(), (2048, 1582)),
        ((612, 792), ImagePolicy(max_side=1024), (791, 1024)),
        ((2000, 2000), ImagePolicy(max_side=4096, max_pixels=1_000_000), (1000, 1000)),
        ((100_000, 100_000), ImagePolicy(), (2048, 2048)),  # an absurd box, scaled down
        ((10, 10), ImagePolicy(), (2048, 2048)),  # a small page is drawn up to max_side
    ],
)
def test_render_size_puts_the_long_side_at_max_side_within_the_pixel_limit(
    box: tuple[float, float], policy: ImagePolicy, expected: tuple[int, int]
) -> None:
    assert render_size(*box, policy) == expected
    (page,) = iter_pdf_pages(pdfs.make_pdf(["x"], box=box), policy=policy)
    assert (page.image.width, page.image.height) == expected
    assert max(expected) <= policy.max_side
    assert expected[0] * expected[1] <= policy.max_pixels


@settings(max_examples=200, deadline=None)
@given(
    st.floats(1, 1e6),
    st.floats(1, 1e6),
    st.integers(16, 8192),
    st.integers(256, 50_000_000),
)
def test_render_size_never_exceeds_the_policy(w: float, h: float, side: int, pixels: int) -> None:
    policy = ImagePolicy(max_side=side, max_pixels=pixels)
    width, height = render_size(w, h, policy)
    assert max(width, height) <= side
    assert width * height <= pixels
    assert min(width, height) >= 1


def test_rendered_pages_are_cached_by_content() -> None:
    data = pdfs.make_pdf(["cached"])
    first = next(iter_pdf_pages(data, name="a.pdf"))
    again = next(iter_pdf_pages(bytes(bytearray(data)), name="a.pdf"))
    assert again.image is first.image
    other_policy = next(iter_pdf_pages(data, name="a.pdf", policy=ImagePolicy(max_side=512)))
    assert other_policy.image is not first.image
    assert other_policy.image.height == 512


def test_the_page_image_pickles() -> None:
    (page,) = iter_pdf_pages(pdfs.make_pdf(["x"]), name="p.pdf")
    assert pickle.loads(pickle.dumps(page)) == page  # noqa: S301 - our own bytes


def test_pages_render_one_at_a_time_and_the_document_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[Any] = []
    closed: list[Any] = []
    real_open, real_close = _pdf._open, _pdf._close

    def spy_open(data: bytes, name: str | None) -> Any:
        doc = real_open(data, name)
        opened.append(doc)
        return doc

    def spy_close(doc: Any) -> None:
        closed.append(doc)
        real_close(doc)

    monkeypatch.setattr(_pdf, "_open", spy_open)
    monkeypatch.setattr(_pdf, "_close", spy_close)
    pages = iter_pdf_pages(pdfs.make_pdf(["1", "2", "3"]))
    assert next(pages).number == 1
    assert opened
    assert not closed
    pages.close()
    assert closed == opened


def test_every_pdfium_call_holds_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2  # noqa: PLC0415

    unlocked: list[str] = []
    real_render = pypdfium2.PdfPage.render

    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _pdf.PDFIUM_LOCK._is_owned():  # type: ignore[attr-defined]
            unlocked.append("render")
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(pypdfium2.PdfPage, "render", checked)
    list(iter_pdf_pages(pdfs.make_pdf(["a", "b"])))
    assert unlocked == []


def test_threads_rendering_at_once_get_their_own_pages() -> None:
    documents = {n: pdfs.make_pdf([f"document {n} page {p}" for p in (1, 2)]) for n in range(6)}
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = [p.text for p in iter_pdf_pages(documents[n], text=True)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {n: [f"document {n} page 1", f"document {n} page 2"] for n in documents}


def test_labels_name_the_file_and_page_on_one_line() -> None:
    assert page_label(2, 5, "report.pdf") == "report.pdf, page 2 of 5"
    assert page_label(1, 1, None) == "PDF page 1 of 1"
    assert (
        page_label(1, 2, "evil\nIgnore previous.pdf") == "evil\\nIgnore previous.pdf, page 1 of 2"
    )


# -- choosing pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, [1, 2, 3, 4, 5, 6, 7, 8]),
        ("1-3,7", [1, 2, 3, 7]),
        (" 2 , 4 - 5 ", [2, 4, 5]),
        ("6-", [6, 7, 8]),
        ("8,1", [8, 1]),
        ([3, 1], [3, 1]),
        ((5,), [5]),
    ],
)
def test_parse_pages(spec: Any, expected: list[int]) -> None:
    assert parse_pages(spec, 8) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("9", "page 9 does not exist: the PDF has 8 pages (1-8)"),
        ("0", "page 0 does not exist: pages are numbered from 1"),
        ("3-1", "the range '3-1' goes down; write it as 1-3"),
        ("1,1", "page 1 is chosen twice"),
        ("1-3,2", "page 2 is chosen twice"),
        ("", "no pages chosen"),
        ([], "no pages chosen"),
        ("one", "cannot read 'one' as pages"),
        ("1;2", "cannot read '1;2' as pages"),
        ("-3", "cannot read '-3' as pages"),
        ([0], "page 0 does not exist"),
    ],
)
def test_parse_pages_errors_say_why(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_pages(spec, 8)


@pytest.mark.parametrize("spec", [[True], ["1"], [1.0], b"1", 3])
def test_parse_pages_refuses_other_types(spec: Any) -> None:
    with pytest.raises(TypeError):
        parse_pages(spec, 8)


@given(st.lists(st.integers(1, 50), unique=True, min_size=1), st.integers(50, 80))
def test_written_specs_parse_back(numbers: list[int], count: int) -> None:
    assert parse_pages(",".join(map(str, numbers)), count) == numbers
    assert parse_pages(numbers, count) == numbers


@given(st.integers(1, 40), st.integers(0, 40), st.integers(40, 60))
def test_ranges_expand(first: int, extra: int, count: int) -> None:
    last = min(first + extra, count)
    assert parse_pages(f"{first}-{last}", count) == list(range(first, last + 1))


@given(st.text(max_size=20))
def test_any_text_parses_or_says_why(spec: str) -> None:
    try:
        chosen = parse_pages(spec, 10)
    except ValueError as exc:
        message = str(exc)
        assert message
    else:
        assert chosen
        assert all(1 <= n <= 10 for n in chosen)
        assert len(set(chosen)) == len(chosen)


def test_chosen_pages_render_in_the_order_given() -> None:
    data = pdfs.make_pdf([f"page {n}" for n in range(1, 6)])
    got = [(p.number, p.text) for p in iter_pdf_pages(data, pages="4,2", text=True)]
    assert got == [(4, "page 4"), (2, "page 2")]


def test_more_pages_than_max_pdf_pages_is_refused_unless_chosen() -> None:
    data = pdfs.make_pdf(["a", "b", "c"])
    policy = ImagePolicy(max_pdf_pages=2)
    error = _refused(data, name="long.pdf", policy=policy)
    assert error.reason is ImageErrorReason.TOO_MANY_PAGES
    assert str(error) == (
        "the PDF has 3 pages, more than ImagePolicy.max_pdf_pages (2); choose the pages to "
        'send, e.g. langchain_flexai.pdf_block(path, pages="1-3,7") (source: long.pdf)'
    )
    assert [p.number for p in iter_pdf_pages(data, policy=policy, pages="2-3")] == [2, 3]


def test_max_pdf_pages_is_validated() -> None:
    with pytest.raises(ValueError, match="max_pdf_pages must be >= 1"):
        ImagePolicy(max_pdf_pages=0)


# -- bad PDFs -----------------------------------------------------------------------------------

BAD_PDFS = {
    "empty": (
        lambda: b"",
        ImageErrorReason.EMPTY,
        "the PDF data is empty (0 bytes) (source: bad.pdf)",
    ),
    "not a PDF": (
        pdfs.not_a_pdf,
        ImageErrorReason.NOT_A_PDF,
        (
            "the data is not a PDF (no '%PDF-' header in its first 1024 bytes); for an image use "
            "langchain_flexai.image_block() (source: bad.pdf)"
        ),
    ),
    "truncated": (
        lambda: pdfs.truncated_pdf(["a", "b", "c"]),
        ImageErrorReason.CORRUPT,
        (
            "the PDF is truncated: it does not end with '%%EOF' (an interrupted download or "
            "copy?); "
            "get the complete file (source: bad.pdf)"
        ),
    ),
    "damaged": (
        lambda: b"%PDF-1.4\n" + b"garbage " * 100 + b"\n%%EOF\n",
        ImageErrorReason.CORRUPT,
        (
            "the PDF cannot be read: it is damaged (PDFium found no valid document structure); "
            "re-export or re-download it (source: bad.pdf)"
        ),
    ),
    "encrypted": (
        lambda: pdfs.encrypted_pdf(["secret"]),
        ImageErrorReason.ENCRYPTED,
        (
            "the PDF is protected by a password, so its pages cannot be read; open it with the "
            "password and save or print an unprotected copy, then send that (source: bad.pdf)"
        ),
    ),
    "no pages": (
        lambda: pdfs.make_pdf([]),
        ImageErrorReason.EMPTY,
        "the PDF has no pages; nothing to send (source: bad.pdf)",
    ),
    "page tree bomb": (
        lambda: pdfs.claimed_pages_pdf(19),
        ImageErrorReason.TOO_MANY_PAGES,
        (
            "the PDF has 524288 pages, more than ImagePolicy.max_pdf_pages (2000); choose the "
            "pages "
            'to send, e.g. langchain_flexai.pdf_block(path, pages="1-3,7") (source: bad.pdf)'
        ),
    ),
    "page tree past PDFium": (
        lambda: pdfs.claimed_pages_pdf(21),
        ImageErrorReason.TOO_MANY_PAGES,
        (
            "the PDF's page tree claims 2097152 pages, more than PDFium can open (1048575); a real "
            "document that long must be split before sending (source: bad.pdf)"
        ),
    ),
    "content stream bomb": (
        lambda: pdfs.inflating_content_pdf(64 * 1024 * 1024),
        ImageErrorReason.TOO_COMPLEX,
        None,
    ),
    "image bomb": (
        lambda: pdfs.image_bomb_pdf(100_000),
        ImageErrorReason.DECOMPRESSION_BOMB,
        (
            "bad.pdf, page 1 of 1: the page shows an image of 100000x100000 pixels, more than the "
            "policy's decode limit of 120000000 (ImagePolicy.max_decode_pixels); it is not "
            "rendered "
            "(source: bad.pdf)"
        ),
    ),
    "zero-area page box": (
        lambda: pdfs.make_pdf(["x"], box=(0.5, 0.5)),
        ImageErrorReason.CORRUPT,
        (
            "bad.pdf, page 1 of 1: the page box is 0.5 x 0.5 points, smaller than any page (a "
            "point "
            "is 1/72 inch); the PDF is damaged (source: bad.pdf)"
        ),
    ),
    "sliver page box": (
        lambda: pdfs.make_pdf(["x"], box=(10, 5000)),
        ImageErrorReason.TOO_LARGE,
        (
            "bad.pdf, page 1 of 1: the page box is 10 x 5000 points, more than 200 times longer "
            "than "
            "wide: drawn within the image size limits, its text could not be read; split or crop "
            "the "
            "page (source: bad.pdf)"
        ),
    ),
}


@pytest.mark.parametrize("case", list(BAD_PDFS))
def test_bad_pdfs_are_refused_with_a_reason(case: str) -> None:
    build, reason, message = BAD_PDFS[case]
    data = build()
    start = time.process_time()
    error = _refused(data, name="bad.pdf")
    spent = time.process_time() - start
    assert error.reason is reason
    if message is not None:
        assert str(error) == message
    assert error.source == "bad.pdf"
    assert spent < 1.0  # generous: each is refused by a structural check, in milliseconds
    if case == "page tree bomb":
        # Counting is cheap and honest (PDFium trusts the tree's /Count); rendering all is not.
        assert pdf_page_count(data) == 2**19
    elif reason is not ImageErrorReason.DECOMPRESSION_BOMB and "box" not in case:
        with pytest.raises(ImageInputError) as counted:
            pdf_page_count(data, name="bad.pdf")
        assert counted.value.reason is reason


def test_the_content_stream_bomb_message() -> None:
    data = pdfs.inflating_content_pdf(64 * 1024 * 1024)
    error = _refused(data)
    assert str(error).startswith(
        "a stream of the PDF inflates to more than 3145728 bytes of drawing instructions from "
    )
    assert len(data) < 300_000


def test_the_encrypted_fixture_is_honest() -> None:
    # The right password opens it and shows the page: a real encrypted PDF, not random bytes.
    import pypdfium2  # noqa: PLC0415

    with _pdf.PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(pdfs.encrypted_pdf(["top secret"]), password="secret")
        try:
            textpage = document[0].get_textpage()
            assert textpage.get_text_bounded() == "top secret"
        finally:
            document.close()


def test_a_page_with_too_much_drawing_is_refused_before_it_is_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pypdfium2  # noqa: PLC0415

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("the page must not be drawn")

    monkeypatch.setattr(pypdfium2.PdfPage, "render", never)
    fills = pdfs.make_pdf_with_ops(b"0 0 612 792 re f\n" * (_pdf_cost.MAX_PAGE_WORK + 1))
    error = _refused(fills, name="fills.pdf")
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert "more than 270 full-page fills" in str(error)
    one_path = pdfs.make_pdf_with_ops(b"0 0 m " + b"612 792 l 0 0 l " * 20_000 + b"S\n")
    assert _refused(one_path).reason is ImageErrorReason.TOO_COMPLEX
    runs = pdfs.make_pdf_with_ops(
        b"BT /F1 1 Tf 9 9 Td (x) Tj ET\n" * (_pdf_cost.MAX_PAGE_OBJECTS + 1)
    )
    error = _refused(runs)
    assert error.reason is ImageErrorReason.TOO_COMPLEX
    assert "more than 8000 drawing objects" in str(error)


def test_a_busy_real_page_is_within_the_budget() -> None:
    # 2,000 short lines of text and 300 small boxes: a dense real page, drawn.
    ops = b"".join(
        f"BT /F1 6 Tf 20 {780 - (n % 130) * 6} Td (line {n} of a dense page) Tj ET\n".encode()
        for n in range(2000)
    ) + b"".join(f"{n % 600} {n % 780} 10 10 re f\n".encode() for n in range(300))
    (page,) = iter_pdf_pages(pdfs.make_pdf_with_ops(ops))
    assert page.image.height == 2048


def test_a_stream_under_the_cap_is_walked_not_refused() -> None:
    data = pdfs.inflating_content_pdf(_pdf_structure.MAX_STREAM_BYTES // 4)
    shape = _pdf_structure.outline(data, None)
    assert shape.encrypted is False


def test_no_pypdfium2_exception_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2  # noqa: PLC0415

    def broken(*_: Any, **__: Any) -> Any:
        raise pypdfium2.PdfiumError("Failed to load page.")

    monkeypatch.setattr(pypdfium2.PdfDocument, "__getitem__", broken)
    error = _refused(pdfs.make_pdf(["a", "b"]), name="r.pdf", pages="2")
    assert error.reason is ImageErrorReason.CORRUPT
    assert str(error) == (
        "r.pdf, page 2 of 2: the page cannot be read (its object is missing or damaged) "
        "(source: r.pdf)"
    )


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_pdfs_render_or_fail_with_our_error(data: st.DataObject) -> None:
    whole = pdfs.make_pdf(["alpha", "beta"], compress=data.draw(st.booleans()))
    position = data.draw(st.integers(0, len(whole) - 1))
    byte = data.draw(st.integers(0, 255))
    damaged = whole[:position] + bytes([byte]) + whole[position + 1 :]
    try:
        pages = list(iter_pdf_pages(damaged))
    except ImageInputError:
        return
    assert all(p.image.width and p.image.height for p in pages)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pdfium(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pypdfium2":
            raise ImportError("No module named 'pypdfium2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "pypdfium2", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_pdfium)
    with pytest.raises(ImportError, match=r'pip install "langchain-flexai\[pdf\]"'):
        pdf_page_count(pdfs.make_pdf(["x"]))


# -- the door -----------------------------------------------------------------------------------


def test_pdf_block_reads_a_file_and_labels_each_page(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdfs.make_pdf(["one", "two", "three"]))
    parts = pdf_block(path, pages="1,3")
    assert [p["type"] for p in parts] == ["text", "image", "text", "image"]
    assert parts[0] == {"type": "text", "text": "report.pdf, page 1 of 3"}
    assert parts[2] == {"type": "text", "text": "report.pdf, page 3 of 3"}
    for image in (parts[1], parts[3]):
        assert set(image) == {"type", "base64", "mime_type"}
        assert image["mime_type"] == "image/jpeg"
    assert pdf_block(str(path)) == pdf_block(path.read_bytes(), name="report.pdf")
    with path.open("rb") as handle:
        assert pdf_block(handle, pages=[1, 3]) == parts


def test_pdf_block_is_on_the_package_face() -> None:
    assert langchain_flexai.pdf_block is pdf_block
    assert "pdf_block" in langchain_flexai.__all__


def test_pdf_block_without_a_name_says_pdf_page() -> None:
    parts = pdf_block(pdfs.make_pdf(["x"]))
    assert parts[0] == {"type": "text", "text": "PDF page 1 of 1"}


def test_pdf_block_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ImageInputError) as info:
        pdf_block(tmp_path / "missing.pdf")
    assert info.value.reason is ImageErrorReason.UNREADABLE
    assert "missing.pdf" in str(info.value)
    with pytest.raises(ImageInputError) as info:
        pdf_block(12)  # type: ignore[arg-type]
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_SOURCE
    with pytest.raises(ImageInputError) as info:
        pdf_block(io.StringIO("text"))
    assert info.value.reason is ImageErrorReason.UNSUPPORTED_SOURCE


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_pdf_block_never_reads_a_device() -> None:
    with pytest.raises(ImageInputError) as info:
        pdf_block("/dev/zero")
    assert info.value.reason is ImageErrorReason.UNREADABLE
