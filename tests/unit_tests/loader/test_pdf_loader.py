"""FlexAIImageLoader with PDFs: one Document per page, page metadata, text layers, bad PDFs.

Every PDF is generated here (``tests.unit_tests.pdf_factory``), with a real text layer. Describe
mode runs against ``CountingModel`` (no sockets): it answers from the image bytes and records
every request, so the resume tests count exactly which pages were asked.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.document_loaders import Blob
from langchain_core.documents import Document

from langchain_flexai.describe import ImageDescriber
from langchain_flexai.describe._key import resume_key
from langchain_flexai.describe._records import DEFAULT_PROMPT, LoadedImage, SkippedImage
from langchain_flexai.describe._run import DescribeProgress
from langchain_flexai.document_loaders import (
    FlexAIImageLoader,
    FlexAIImageParser,
    ImageSkippedWarning,
    SkippedFile,
)
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._pdf import PdfPage, iter_pdf_pages
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests.loader_samples import CountingModel, describe_text, save_image
from tests.unit_tests.pdf_factory import make_pdf

REPORT = ["Quarterly revenue grew\nby ten percent", "", "Appendix: shipping tables"]
SMALL = ImagePolicy(max_side=256, max_pixels=256 * 256)
"""Small pages keep the tests fast; the rendering itself is tested with the renderer."""


def write_report(folder: Path, name: str = "report.pdf", pages: list[str] = REPORT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(make_pdf(pages))
    return path


def rendered(path: Path, policy: ImagePolicy = SMALL) -> list[PdfPage]:
    """The pages as the renderer makes them on its own (what the loader must carry)."""
    return list(iter_pdf_pages(path.read_bytes(), name=str(path), policy=policy, text=True))


def expected_metadata(path: Path, page: PdfPage) -> dict[str, Any]:
    image = page.image
    return {
        "source": str(path),
        "file_name": path.name,
        "file_size": path.stat().st_size,
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "original_mime_type": image.original_mime_type,
        "original_width": image.original_width,
        "original_height": image.original_height,
        "sha256": image.sha256,
        "transformations": list(image.transformations),
        "image_url": image.url,
        "page": page.number,
        "page_count": page.count,
    }


def quiet_load(loader: FlexAIImageLoader) -> list[Document]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageSkippedWarning)
        return loader.load()


# -- Documents -------------------------------------------------------------------------------


def test_one_document_per_page_with_page_metadata_and_text_layer(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    docs = FlexAIImageLoader(path, policy=SMALL).load()
    pages = rendered(path)
    assert [d.metadata for d in docs] == [expected_metadata(path, p) for p in pages]
    assert [d.metadata["page"] for d in docs] == [1, 2, 3]
    assert {d.metadata["page_count"] for d in docs} == {3}
    assert docs[0].page_content == pages[0].text == "Quarterly revenue grew\nby ten percent"
    # A page with no text layer gets a stand-in naming the file and the page.
    width, height = pages[1].image.width, pages[1].image.height
    fmt = (pages[1].image.mime_type or "").rsplit("/", 1)[-1].upper()
    assert docs[1].page_content == (
        f"report.pdf, page 2 of 3: no text layer (sent as {fmt} {width}×{height})"
    )
    assert docs[2].page_content == "Appendix: shipping tables"
    # Pages differ, so do their images.
    assert len({d.metadata["sha256"] for d in docs}) == 3


def test_the_image_of_a_page_goes_back_to_the_model(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    first = FlexAIImageLoader(path, policy=SMALL).load()[0]
    message = FlexAIImageLoader.to_message(first, "What does page 1 say?")
    image = rendered(path)[0].image
    assert message.content == [
        {"type": "text", "text": "What does page 1 say?"},
        image.to_content_block(),
    ]


def test_include_image_false_keeps_page_metadata(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    docs = FlexAIImageLoader(path, policy=SMALL, include_image=False).load()
    assert ["image_url" in d.metadata for d in docs] == [False, False, False]
    assert [(d.metadata["page"], d.metadata["page_count"]) for d in docs] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]


def test_folder_mixes_images_and_pdf_pages_in_walk_order(tmp_path: Path) -> None:
    save_image(tmp_path / "a.jpg", (40, 30), (250, 0, 0))
    write_report(tmp_path, "b.PDF")
    save_image(tmp_path / "c.png", (20, 20), (0, 250, 0))
    docs = FlexAIImageLoader(tmp_path, policy=SMALL, workers=2).load()
    shown = [(Path(d.metadata["source"]).name, d.metadata.get("page")) for d in docs]
    assert shown == [("a.jpg", None), ("b.PDF", 1), ("b.PDF", 2), ("b.PDF", 3), ("c.png", None)]


async def test_aload_equals_load(tmp_path: Path) -> None:
    write_report(tmp_path)
    save_image(tmp_path / "z.jpg", (40, 30))
    loader = FlexAIImageLoader(tmp_path, policy=SMALL, workers=2)
    assert await loader.aload() == loader.load()


def test_a_pdf_named_without_its_suffix_is_still_a_pdf(tmp_path: Path) -> None:
    path = write_report(tmp_path, "report-download")
    docs = FlexAIImageLoader(path, policy=SMALL).load()
    assert [d.metadata["page"] for d in docs] == [1, 2, 3]


def test_pages_chooses_pages(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    for pages in ("1,3", [1, 3]):
        docs = FlexAIImageLoader(path, policy=SMALL, pages=pages).load()
        assert [d.metadata["page"] for d in docs] == [1, 3]
        assert [d.metadata["page_count"] for d in docs] == [3, 3]


def test_pages_beyond_the_end_skip_the_pdf_naming_it(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    loader = FlexAIImageLoader(path, policy=SMALL, pages="2-5", on_error="skip")
    assert loader.load() == []
    (skipped,) = loader.skipped
    assert (skipped.source, skipped.page) == (str(path), None)
    assert "3 pages" in skipped.message  # how many there are


def test_lazy_load_messages_send_each_page(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    messages = list(FlexAIImageLoader(path, policy=SMALL).lazy_load_messages("Read it."))
    images = [p.image.to_content_block() for p in rendered(path)]
    assert [m.content for m in messages] == [
        [{"type": "text", "text": "Read it."}, image] for image in images
    ]


def test_progress_total_counts_pages(tmp_path: Path) -> None:
    write_report(tmp_path)
    save_image(tmp_path / "z.jpg", (40, 30))
    seen: list[DescribeProgress] = []
    loader = FlexAIImageLoader(
        tmp_path, policy=SMALL, model=CountingModel(), on_progress=seen.append
    )
    assert len(loader.load()) == 4
    assert [(p.total, p.done) for p in seen] == [(4, 1), (4, 2), (4, 3), (4, 4)]


def test_the_parser_gives_a_pdf_blob_one_document_per_page(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    loaded = FlexAIImageLoader(path, policy=SMALL).load()
    data = path.read_bytes()
    for blob in (
        Blob.from_path(path),
        Blob.from_data(data, mime_type="application/pdf", path=path),
    ):
        assert list(FlexAIImageParser(policy=SMALL).lazy_parse(blob)) == loaded
    model = CountingModel()
    described = list(FlexAIImageParser(policy=SMALL, model=model).lazy_parse(Blob.from_path(path)))
    assert [d.page_content.split("\n")[0] for d in described] == [
        describe_text(d.metadata["sha256"]) for d in loaded
    ]
    with pytest.raises(ImageInputError):
        list(FlexAIImageParser().lazy_parse(Blob.from_data(b"%PDF-1.4 cut", path="x.pdf")))


# -- bad PDFs --------------------------------------------------------------------------------


def bad_folder(root: Path) -> Path:
    save_image(root / "a.jpg", (40, 30))
    (root / "b_broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    (root / "c_text.pdf").write_bytes(b"just some text, not a PDF at all\n")
    write_report(root, "d_report.pdf")
    return root


def test_bad_pdfs_in_a_folder_are_skipped_with_a_warning_naming_them(tmp_path: Path) -> None:
    root = bad_folder(tmp_path)
    loader = FlexAIImageLoader(root, policy=SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = loader.load()
    shown = [(Path(d.metadata["source"]).name, d.metadata.get("page")) for d in docs]
    assert shown == [("a.jpg", None), ("d_report.pdf", 1), ("d_report.pdf", 2), ("d_report.pdf", 3)]
    assert [(Path(s.source or "").name, s.page) for s in loader.skipped] == [
        ("b_broken.pdf", None),
        ("c_text.pdf", None),
    ]
    assert [s.reason for s in loader.skipped] == ["corrupt", "not_a_pdf"]
    messages = [str(w.message) for w in caught if w.category is ImageSkippedWarning]
    assert messages == [
        f"skipped {root / 'b_broken.pdf'}: {loader.skipped[0].message}",
        f"skipped {root / 'c_text.pdf'}: {loader.skipped[1].message}",
    ]
    assert loader.skipped[0].message.startswith("the PDF is truncated")
    assert loader.skipped[1].message.startswith("the data is not a PDF")


def test_a_page_that_cannot_be_rendered_is_skipped_and_the_rest_load(tmp_path: Path) -> None:
    path = tmp_path / "sliver.pdf"
    # Page 2's box is half a point tall: no real page, refused before it is drawn.
    path.write_bytes(make_pdf(["one", "two", "three"], boxes=[(612, 792), (612, 0.5), (612, 792)]))
    loader = FlexAIImageLoader(path, policy=SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = loader.load()
    assert [(d.metadata["page"], d.page_content) for d in docs] == [(1, "one"), (3, "three")]
    (skipped,) = loader.skipped
    assert (skipped.source, skipped.reason, skipped.page) == (str(path), "corrupt", 2)
    assert skipped.message.startswith(f"{path}, page 2 of 3: the page box is 612 x 0.5 points")
    (warning,) = [w for w in caught if w.category is ImageSkippedWarning]
    assert str(warning.message) == f"skipped {path} page 2: {skipped.message}"
    with pytest.raises(ImageInputError, match=r"^cannot load .*sliver\.pdf page 2: "):
        FlexAIImageLoader(path, policy=SMALL, on_error="raise").load()


def test_on_error_raise_names_the_bad_pdf(tmp_path: Path) -> None:
    root = bad_folder(tmp_path)
    with pytest.raises(ImageInputError) as raised:
        FlexAIImageLoader(root, policy=SMALL, on_error="raise").load()
    assert str(raised.value).startswith(f"cannot load {root / 'b_broken.pdf'}: ")


def test_a_skipped_page_names_its_page(tmp_path: Path) -> None:
    loader = FlexAIImageLoader(tmp_path, on_error="warn")
    error = ImageInputError("the page box is absurd", reason=ImageErrorReason.TOO_LARGE)
    with pytest.warns(ImageSkippedWarning) as caught:
        loader._problems.input_problem(SkippedImage("r.pdf", error, page=4))
    assert str(caught[0].message) == "skipped r.pdf page 4: the page box is absurd"
    assert loader.skipped == [SkippedFile("r.pdf", "too_large", "the page box is absurd", 4)]
    raising = FlexAIImageLoader(tmp_path, on_error="raise")
    with pytest.raises(ImageInputError, match=r"^cannot load r\.pdf page 4: the page box"):
        raising._problems.input_problem(SkippedImage("r.pdf", error, page=4))


@pytest.mark.parametrize(("bad", "loaded"), [(1, [2, 3]), (3, [1, 2]), (2, [1, 3])])
def test_any_page_can_fail_alone(bad: int, loaded: list[int], tmp_path: Path) -> None:
    boxes = [(612.0, 792.0)] * 3
    boxes[bad - 1] = (612.0, 0.5)
    path = tmp_path / "r.pdf"
    path.write_bytes(make_pdf(["1", "2", "3"], boxes=boxes))
    for pages in (None, "1-3"):
        loader = FlexAIImageLoader(path, policy=SMALL, pages=pages, on_error="skip")
        assert [d.metadata["page"] for d in loader.load()] == loaded
        assert [(s.page, s.reason) for s in loader.skipped] == [(bad, "corrupt")]


def test_more_pages_than_the_policy_allows_is_one_skip_for_the_file(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    policy = ImagePolicy(max_side=256, max_pixels=256 * 256, max_pdf_pages=2)
    loader = FlexAIImageLoader(path, policy=policy, on_error="skip")
    assert loader.load() == []
    assert [(s.source, s.reason, s.page) for s in loader.skipped] == [
        (str(path), "too_many_pages", None)
    ]
    assert "choose the pages" in loader.skipped[0].message
    chosen = FlexAIImageLoader(path, policy=policy, pages="2-3").load()
    assert [d.metadata["page"] for d in chosen] == [2, 3]


def test_without_the_pdf_extra_each_pdf_is_skipped_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import langchain_flexai.images._pdf as renderer  # noqa: PLC0415

    def missing() -> None:
        raise ImportError('reading PDFs needs the pdf extra: pip install "langchain-flexai[pdf]"')

    monkeypatch.setattr(renderer, "_pdfium", missing)
    path = write_report(tmp_path)
    save_image(tmp_path / "z.jpg", (40, 30))
    loader = FlexAIImageLoader(tmp_path, policy=SMALL, on_error="skip")
    assert [Path(d.metadata["source"]).name for d in loader.load()] == ["z.jpg"]
    assert loader.skipped == [
        SkippedFile(
            str(path),
            "missing_extra",
            'reading PDFs needs the pdf extra: pip install "langchain-flexai[pdf]"',
        )
    ]


# -- describe mode and resume ----------------------------------------------------------------


def test_describe_mode_describes_each_page_and_keeps_the_text(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    model = CountingModel()
    docs = FlexAIImageLoader(path, policy=SMALL, model=model).load()
    pages = rendered(path)
    descriptions = [describe_text(p.image.sha256 or "") for p in pages]
    assert [d.page_content for d in docs] == [
        f"{descriptions[0]}\n\n{pages[0].text}",
        descriptions[1],
        f"{descriptions[2]}\n\n{pages[2].text}",
    ]
    assert [d.metadata for d in docs] == [expected_metadata(path, p) for p in pages]
    assert len(model.requests) == 3


def test_describe_records_carry_the_page(tmp_path: Path) -> None:
    path = write_report(tmp_path)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    loader = FlexAIImageLoader(tmp_path, policy=SMALL, model=CountingModel(), on_error="skip")
    records = list(loader.lazy_describe())
    assert [(Path(r.source or "").name, r.page, r.status) for r in records] == [
        ("broken.pdf", None, "skipped"),
        ("report.pdf", 1, "described"),
        ("report.pdf", 2, "described"),
        ("report.pdf", 3, "described"),
    ]
    assert [r.to_json_dict()["page"] for r in records] == [None, 1, 2, 3]
    assert records[1].to_json_dict() == {
        "source": str(path),
        "page": 1,
        "sha256": rendered(path)[0].image.sha256,
        "status": "described",
        "description": describe_text(rendered(path)[0].image.sha256 or ""),
        "usage": {"input_tokens": 100, "output_tokens": 10, "total_tokens": 110},
        "cached": False,
        "error": None,
        "reason": None,
        "model": "fake-vision",
        "prompt_sha256": hashlib.sha256(DEFAULT_PROMPT.encode()).hexdigest(),
        "response_id": None,
        "finish_reason": "stop",
        "cost_usd": None,
        "width": 197,
        "height": 255,
        "mime_type": "image/png",
        "transformations": ["rendered_page"],
        "data": None,
        "sidecar": None,
        "sidecar_status": None,
    }


def test_resume_asks_nothing_again_then_only_the_changed_page(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    path = write_report(folder, pages=["page one text", "page two text", "page three text"])
    cache = tmp_path / "cache.sqlite"

    def run() -> tuple[CountingModel, list[Document], FlexAIImageLoader]:
        model = CountingModel()
        loader = FlexAIImageLoader(path, policy=SMALL, model=model, cache_path=cache)
        return model, loader.load(), loader

    first_model, first, _ = run()
    assert len(first_model.requests) == 3
    again_model, again, loader = run()
    assert again_model.requests == []
    assert again == first
    assert loader.report is not None
    assert (loader.report.described, loader.report.cached) == (0, 3)

    path.write_bytes(make_pdf(["page one text", "page two, edited", "page three text"]))
    edited_model, edited, _ = run()
    new_page_two = rendered(path)[1].image.sha256
    assert dict(edited_model.image_counts()) == {new_page_two: 1}
    assert [d.metadata["sha256"] for d in edited] == [
        first[0].metadata["sha256"],
        new_page_two,
        first[2].metadata["sha256"],
    ]


def test_two_pages_that_look_alike_never_share_a_key(tmp_path: Path) -> None:
    path = write_report(tmp_path, pages=["", ""])  # two blank pages: the same pixels
    pages = rendered(path)
    assert pages[0].image.sha256 == pages[1].image.sha256
    cache = tmp_path / "c.sqlite"
    first = CountingModel()
    FlexAIImageLoader(path, policy=SMALL, pages="1", model=first, cache_path=cache).load()
    assert len(first.requests) == 1
    both = CountingModel()
    loader = FlexAIImageLoader(path, policy=SMALL, model=both, cache_path=cache)
    assert [d.metadata["page"] for d in loader.load()] == [1, 2]
    assert len(both.requests) == 1  # page 2 is asked: page 1's row does not answer for it
    assert loader.report is not None
    assert (loader.report.described, loader.report.cached) == (1, 1)


def test_resume_key_of_a_page_holds_the_page_number_and_the_bytes(tmp_path: Path) -> None:
    image = rendered(write_report(tmp_path))[0].image
    sha = image.sha256
    assert resume_key(image) == sha
    assert resume_key(image, 1) == f"page:1:{sha}"
    assert resume_key(image, 2) != resume_key(image, 1)


def test_loaded_page_is_a_describe_input(tmp_path: Path) -> None:
    # The describe run takes the loader's pages as they are (each record hands its input back).
    path = write_report(tmp_path)
    item = next(iter(FlexAIImageLoader(path, policy=SMALL)._iter_loaded()))
    assert isinstance(item, LoadedImage)
    assert item.page == 1
    (record,) = ImageDescriber(CountingModel()).describe([item])
    assert (record.page, record.input) == (1, item)


def test_pdf_pages_read_by_a_loader_or_parser_leave_nothing_in_the_image_cache(
    tmp_path: Path,
) -> None:
    """Each page is read once: keeping it would grow memory with the page count."""
    from langchain_flexai.images import _doors  # noqa: PLC0415 - the cache itself is checked

    path = write_report(tmp_path)
    _doors.clear_image_cache()
    assert len(FlexAIImageLoader(path, policy=SMALL).load()) == 3
    assert len(list(FlexAIImageParser(policy=SMALL).lazy_parse(Blob.from_path(path)))) == 3
    assert len(_doors._CACHE) == 0
    assert len(list(iter_pdf_pages(path.read_bytes(), policy=SMALL))) == 3  # a direct call keeps
    assert len(_doors._CACHE) == 3


def test_the_progress_total_counts_a_url_once_and_never_opens_it_as_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_flexai._loader import _pdf as loader_pdf  # noqa: PLC0415 - patched here

    def refuse(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("a URL was opened as a local path")

    monkeypatch.setattr(loader_pdf, "read_image_file", refuse)
    monkeypatch.chdir(tmp_path)
    loader = FlexAIImageLoader(
        ["https://files.example.com/report.pdf"], remote_images="fetch", show_progress=True
    )
    assert loader._count() == 1


def test_the_cli_total_counts_pdf_pages_as_records(tmp_path: Path) -> None:
    from langchain_flexai.cli._describe import _count_inputs  # noqa: PLC0415

    folder = tmp_path / "docs"
    write_report(folder)  # 3 pages
    save_image(folder / "photo.png")
    assert _count_inputs([str(folder)]) == 4
    assert _count_inputs([str(folder)], "1,3") == 3
    assert _count_inputs([str(folder), "https://example.com/a.png"], "2") == 3


def test_a_pdf_named_without_its_suffix_counts_its_pages(tmp_path: Path) -> None:
    from langchain_flexai.cli._describe import _count_inputs  # noqa: PLC0415

    scan = tmp_path / "scan"
    write_report(tmp_path).rename(scan)  # 3 pages, no suffix
    photo = save_image(tmp_path / "photo.png")
    assert _count_inputs([str(scan), str(photo)]) == 4
    assert _count_inputs([str(scan)], "2-3") == 2
    loader = FlexAIImageLoader([scan, photo], policy=SMALL, show_progress=True)
    assert loader._count() == 4
    assert len(loader.load()) == 4
