"""Sidecars beside described images: exact .txt bytes, the JSON record, XMP written and merged.

Images are generated here; the model is a fake whose answer the test chooses. Every test also
checks that no image file changed and that no temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from langchain_flexai.describe import ImageDescriber
from langchain_flexai.describe._records import DescribeRecord, LoadedImage
from langchain_flexai.describe._sidecars import SidecarWriter, sidecar_path, unwritable_folder
from langchain_flexai.describe._xmp import DC, RDF, XML, caption_xmp, merge_xmp, read_caption
from langchain_flexai.images._doors import prepare_image
from tests.unit_tests.loader_samples import read_only_folder, save_image

CAPTION = "A red square\n\non a  grey\tfloor, «quoted»."
ONE_LINE = "A red square on a grey floor, «quoted»."
X_DEFAULT = f"{{{XML}}}lang"

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    exif:DateTimeOriginal="2024:05:01 10:00:00"
    xmp:Rating="3"
    xmpMM:DerivedFrom="photo.jpg"
    darktable:xmp_version="5"
    darktable:history_end="2">
   <!-- written by darktable 4.8 -->
   <darktable:masks_history>
    <rdf:Seq/>
   </darktable:masks_history>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1"
       darktable:params="0000000000000000"/>
     <rdf:li darktable:num="1" darktable:operation="colorin" darktable:enabled="1"
       darktable:params="gz48eJxjZBgFo2AU0Aj8BwAECAAB"/>
    </rdf:Seq>
   </darktable:history>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>places|garden</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _model(answer: str = CAPTION) -> FakeListChatModel:
    return FakeListChatModel(responses=[answer])


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@contextlib.contextmanager
def _unchanged_images(*images: Path) -> Iterator[None]:
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in images}
    yield
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in images} == before


def _run(
    folder: Path, images: list[Path], **options: object
) -> tuple[list[DescribeRecord], ImageDescriber]:
    describer = ImageDescriber(_model(), **options)  # type: ignore[arg-type]
    with _unchanged_images(*images):
        records = list(describer.describe(prepare_image(p) for p in images))
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary file left behind
    return records, describer


def _descriptions(packet: bytes) -> list[ET.Element]:
    return ET.fromstring(packet).findall(f".//{{{DC}}}description")  # noqa: S314 - our own file


# -- names ---------------------------------------------------------------------------------


def test_sidecar_names() -> None:
    assert sidecar_path("a/photo.jpg", "txt", "stem") == Path("a/photo.txt")
    assert sidecar_path("a/photo.jpg", "xmp", "full") == Path("a/photo.jpg.xmp")
    assert sidecar_path("a/photo.tar.png", "json", "stem") == Path("a/photo.tar.json")
    assert SidecarWriter("txt").rule == "stem"
    assert SidecarWriter("xmp").rule == "full"
    assert SidecarWriter("json").rule == "full"
    assert SidecarWriter("xmp", "stem").rule == "stem"


@pytest.mark.parametrize(("kind", "name"), [("csv", None), ("txt", "short")])
def test_bad_options_are_refused(kind: str, name: str | None) -> None:
    with pytest.raises(ValueError, match="sidecar"):
        SidecarWriter(kind, name)  # type: ignore[arg-type]


# -- txt -----------------------------------------------------------------------------------


def test_txt_sidecar_is_the_caption_on_one_line(tmp_path: Path) -> None:
    images = [save_image(tmp_path / "a.jpg"), save_image(tmp_path / "b.PNG", fmt="PNG")]
    records, describer = _run(tmp_path, images, sidecar="txt")
    assert (tmp_path / "a.txt").read_bytes() == (ONE_LINE + "\n").encode("utf-8")
    assert (tmp_path / "b.txt").read_bytes() == (ONE_LINE + "\n").encode("utf-8")
    assert [(r.status, r.sidecar, r.sidecar_status) for r in records] == [
        ("described", str(tmp_path / "a.txt"), "written"),
        ("described", str(tmp_path / "b.txt"), "written"),
    ]
    assert records[0].description == CAPTION.strip()  # the record keeps the answer as given
    assert describer.report.failed == 0


def test_two_images_with_one_stem_do_not_share_a_caption(tmp_path: Path) -> None:
    jpg = save_image(tmp_path / "photo.jpg")
    png = save_image(tmp_path / "photo.png", fmt="PNG")
    records, describer = _run(tmp_path, [jpg, png], sidecar="txt")
    assert records[0].sidecar_status == "written"
    assert records[1].status == "failed"
    assert records[1].reason == "sidecar_failed"
    assert records[1].error == (
        f"the sidecar {tmp_path / 'photo.txt'} already belongs to {jpg} in this run (same "
        "name, another suffix); rename one image, or use the 'full' name rule (photo.jpg.txt)"
    )
    assert records[1].description == CAPTION.strip()  # the paid answer is not lost
    assert describer.report.failed == 1
    # The full name rule gives each its own.
    records, _ = _run(tmp_path, [jpg, png], sidecar="txt", sidecar_name="full", overwrite=True)
    assert [r.sidecar_status for r in records] == ["written", "written"]
    assert (tmp_path / "photo.jpg.txt").read_bytes() == (tmp_path / "photo.png.txt").read_bytes()


def test_an_image_named_like_its_own_sidecar_is_never_overwritten(tmp_path: Path) -> None:
    image = save_image(tmp_path / "scan.txt", fmt="PNG")  # a PNG named .txt, loaded explicitly
    records, _ = _run(tmp_path, [image], sidecar="txt", overwrite=True)
    assert records[0].reason == "sidecar_failed"
    assert records[0].error == (
        f"the sidecar {image} would be the image itself; use the 'full' name rule"
    )


def test_existing_sidecars_are_kept_unless_overwrite(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.jpg")
    (tmp_path / "a.txt").write_bytes(b"my own caption\n")
    records, _ = _run(tmp_path, [image], sidecar="txt")
    assert records[0].sidecar_status == "kept"
    assert records[0].status == "described"
    assert (tmp_path / "a.txt").read_bytes() == b"my own caption\n"
    records, _ = _run(tmp_path, [image], sidecar="txt", overwrite=True)
    assert records[0].sidecar_status == "written"
    assert (tmp_path / "a.txt").read_bytes() == (ONE_LINE + "\n").encode()


# -- json ----------------------------------------------------------------------------------


def test_json_sidecar_is_the_whole_record(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.jpg")
    records, _ = _run(tmp_path, [image], sidecar="json")
    path = tmp_path / "a.jpg.json"
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == records[0].to_json_dict()
    assert json.loads(text)["sidecar"] == str(path)
    assert json.loads(text)["sidecar_status"] == "written"
    assert json.loads(text)["description"] == CAPTION.strip()
    assert text.endswith("}\n")


# -- xmp -----------------------------------------------------------------------------------


def test_new_xmp_sidecar(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.jpg")
    records, _ = _run(tmp_path, [image], sidecar="xmp")
    packet = (tmp_path / "a.jpg.xmp").read_bytes()
    assert records[0].sidecar_status == "written"
    assert packet.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta ')
    root = ET.fromstring(packet)  # noqa: S314 - our own file
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    node = root.find(f"{{{RDF}}}RDF/{{{RDF}}}Description")
    assert node is not None
    assert node.get(f"{{{RDF}}}about") == ""
    items = node.findall(f"{{{DC}}}description/{{{RDF}}}Alt/{{{RDF}}}li")
    assert [(i.get(X_DEFAULT), i.text) for i in items] == [("x-default", CAPTION.strip())]
    assert node.find(f"{{{DC}}}subject") is None  # free text: no tags


def test_xmp_tags_come_from_a_structured_answer(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.jpg")
    record = DescribeRecord(
        source=str(image),
        sha256="0" * 64,
        description='{"caption": "a leaf", "tags": ["leaf", "green"]}',
        data={"caption": "a leaf", "tags": ["leaf", "green"]},
        input=LoadedImage(prepare_image(image), image.stat().st_size),
    )
    done = SidecarWriter("xmp").apply(record)
    assert done.sidecar_status == "written"
    assert read_caption((tmp_path / "a.jpg.xmp").read_bytes()) == ("a leaf", ["leaf", "green"])


def _foreign(packet: bytes) -> list[tuple[str, dict[str, str], str]]:
    """Every element outside Dublin Core, with its attributes and text, in document order."""
    builder = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))  # noqa: S314 - ours
    builder.feed(packet)
    root = builder.close()
    ours = {f"{{{DC}}}description", f"{{{DC}}}subject"}
    skip = set()
    for element in root.iter():
        if element.tag in ours:
            skip.update(id(e) for e in element.iter())
    return [
        (str(e.tag), dict(e.attrib), (e.text or "").strip())
        for e in root.iter()
        if id(e) not in skip
    ]


def test_xmp_merges_into_a_darktable_sidecar_keeping_everything_else(tmp_path: Path) -> None:
    image = save_image(tmp_path / "photo.jpg")
    path = tmp_path / "photo.jpg.xmp"
    path.write_text(DARKTABLE, encoding="utf-8")
    records, _ = _run(tmp_path, [image], sidecar="xmp")
    merged = path.read_bytes()
    assert records[0].sidecar_status == "merged"
    assert _foreign(merged) == _foreign(DARKTABLE.encode())  # the comment included
    assert read_caption(merged) == (CAPTION.strip(), [])
    # The file's own prefixes, not ns0 / ns1.
    for prefix in (b"darktable:history", b"xmpMM:DerivedFrom", b"lr:hierarchicalSubject"):
        assert prefix in merged
    assert b"ns0:" not in merged
    # Its caption now exists: a second run keeps it, byte for byte.
    records, _ = _run(tmp_path, [image], sidecar="xmp")
    assert records[0].sidecar_status == "kept"
    assert path.read_bytes() == merged


def test_xmp_overwrite_replaces_only_the_caption(tmp_path: Path) -> None:
    existing = merge_xmp(DARKTABLE.encode(), "an old caption", ["old"])
    assert existing is not None
    assert merge_xmp(existing, "new") is None  # kept without overwrite
    replaced = merge_xmp(existing, "new caption", ["new"], overwrite=True)
    assert replaced is not None
    assert read_caption(replaced) == ("new caption", ["new"])
    assert len(_descriptions(replaced)) == 1
    assert _foreign(replaced) == _foreign(DARKTABLE.encode())


def test_xmp_attribute_form_description_counts_as_existing() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF.encode() + b'">'
        b'<rdf:Description rdf:about="" xmlns:dc="' + DC.encode() + b'" dc:description="old"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    assert merge_xmp(packet, "new") is None
    replaced = merge_xmp(packet, "new", overwrite=True)
    assert replaced is not None
    assert b'dc:description="old"' not in replaced
    assert read_caption(replaced) == ("new", [])


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x00\xffnot xml at all", "it is not well-formed XML"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed></x:xmpmeta>", "not well-formed XML"),
        (
            (
                b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
                b'"&lol;&lol;&lol;&lol;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&lol2;</x:xmpmeta>'
            ),
            "it declares a DTD or entities",
        ),
        (b"<html><body>not xmp</body></html>", "its root element is html"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>", "its root element is {adobe:ns:meta/}xmpmeta"),
    ],
)
def test_a_damaged_xmp_is_left_untouched_with_a_warning(
    tmp_path: Path, content: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    image = save_image(tmp_path / "a.jpg")
    path = tmp_path / "a.jpg.xmp"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="langchain_flexai.describe._sidecars"):
        records, describer = _run(tmp_path, [image], sidecar="xmp", overwrite=True)
    assert path.read_bytes() == content
    assert (records[0].status, records[0].sidecar_status) == ("described", "damaged")
    assert describer.report.failed == 0
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"left the existing sidecar {path} untouched: ")
    assert why in message


def test_a_huge_xmp_is_not_read_whole(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.jpg")
    path = tmp_path / "a.jpg.xmp"
    with path.open("wb") as stream:
        stream.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of zeros
    records, _ = _run(tmp_path, [image], sidecar="xmp")
    assert records[0].sidecar_status == "damaged"
    assert path.stat().st_size == 64 * 1024 * 1024


def test_caption_xmp_escapes_markup() -> None:
    packet = caption_xmp('<b>"bold" & </b>', ["a&b"])
    assert read_caption(packet) == ('<b>"bold" & </b>', ["a&b"])


# -- failures mid-run ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["txt", "json", "xmp"])
def test_a_sidecar_that_cannot_be_written_fails_its_record_and_the_run_goes_on(
    tmp_path: Path, kind: str
) -> None:
    first = save_image(tmp_path / "a.jpg")
    second = save_image(tmp_path / "b.jpg")
    blocked = sidecar_path(first, kind, SidecarWriter(kind).rule)  # type: ignore[arg-type]
    blocked.mkdir()  # a folder where the sidecar should go: no one can write the file
    records, describer = _run(tmp_path, [first, second], sidecar=kind, overwrite=True)
    assert records[0].status == "failed"
    assert records[0].reason == "sidecar_failed"
    assert records[0].error == (
        f"cannot write the sidecar {blocked}: it exists and is not a regular file"
    )
    assert records[0].description == CAPTION.strip()
    assert records[1].sidecar_status == "written"
    assert describer.report.failed == 1
    assert blocked.is_dir()
    assert list(blocked.iterdir()) == []


def test_a_read_only_folder_fails_each_record_there(tmp_path: Path) -> None:
    sub = tmp_path / "locked"
    sub.mkdir()
    locked = save_image(sub / "a.jpg")
    free = save_image(tmp_path / "b.jpg")
    with read_only_folder(sub):
        assert unwritable_folder([tmp_path]) is None
        assert unwritable_folder([sub]) is not None
        assert unwritable_folder([sub]).startswith(f"cannot write sidecars in {sub}: ")  # type: ignore[union-attr]
        records, describer = _run(tmp_path, [locked, free], sidecar="txt")
    assert records[0].reason == "sidecar_failed"
    assert records[0].error is not None
    assert records[0].error.startswith(f"cannot write the sidecar {sub / 'a.txt'}: ")
    assert records[1].sidecar_status == "written"
    assert describer.report.failed == 1
    assert sorted(p.name for p in sub.iterdir()) == ["a.jpg"]


# -- sources that are not files ------------------------------------------------------------


def test_urls_and_bytes_get_no_sidecar(tmp_path: Path) -> None:
    image = save_image(tmp_path / "a.png", fmt="PNG")
    inputs = [prepare_image("https://example.com/a.png"), prepare_image(image.read_bytes())]
    describer = ImageDescriber(_model(), sidecar="txt")
    records = list(describer.describe(inputs))
    assert [(r.status, r.sidecar, r.sidecar_status) for r in records] == [
        ("described", None, "not_a_file"),
        ("described", None, "not_a_file"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("txt", "stem", ["report.page-1.txt", "report.page-2.txt", "report.page-3.txt"]),
        ("json", "full", [f"report.pdf.page-{n}.json" for n in (1, 2, 3)]),
    ],
)
def test_each_page_of_a_pdf_gets_a_sidecar_of_its_own(
    tmp_path: Path, kind: str, name: str, expected: list[str]
) -> None:
    """Pages share their file: one sidecar per page, or a page's answer would replace another's."""
    from langchain_flexai import FlexAIImageLoader  # noqa: PLC0415 - the loader renders the pages
    from langchain_flexai.images._policy import ImagePolicy  # noqa: PLC0415
    from tests.unit_tests.pdf_factory import make_pdf  # noqa: PLC0415

    (tmp_path / "report.pdf").write_bytes(make_pdf(["one", "two", "three"]))
    model = FakeListChatModel(responses=["caption A", "caption B", "caption C"])
    describer = ImageDescriber(model, "Describe.", sidecar=kind, sidecar_name=name)  # type: ignore[arg-type]
    loader = FlexAIImageLoader(
        tmp_path, describer=describer, policy=ImagePolicy(max_side=128, max_pixels=128 * 128)
    )
    records = list(loader.lazy_describe())
    assert [(r.page, r.sidecar_status) for r in records] == [
        (1, "written"),
        (2, "written"),
        (3, "written"),
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "report.pdf") == expected
    written = [(tmp_path / e).read_text() for e in expected]
    # Each page's file holds that page's own answer (the model answers in whatever order).
    if kind == "txt":
        assert written == [f"{r.description}\n" for r in records]
        assert sorted(written) == ["caption A\n", "caption B\n", "caption C\n"]
    else:
        assert [(json.loads(w)["page"], json.loads(w)["description"]) for w in written] == [
            (r.page, r.description) for r in records
        ]
