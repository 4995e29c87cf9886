"""Describe output files: each format's exact content, atomic replacement, bad locations."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from langchain_flexai.describe import (
    FORMATS,
    STABLE_COLUMNS,
    DescribeOutputError,
    DescribeRecord,
    RecordWriter,
    TokenUsage,
    open_writer,
)
from langchain_flexai.describe._writers import markdown_cell

USAGE = TokenUsage(1234, 20, 1254)

DESCRIBED = DescribeRecord(
    source="photos/sky.webp",
    sha256="97" * 32,
    description='A blue sky, "clear"; one cloud | no birds,\nand a kite.',
    usage=USAGE,
    model="phi-4-multimodal-instruct",
    prompt_sha256="ab" * 32,
    response_id="chatcmpl-000000000000000000000001",
    finish_reason="stop",
    cost_usd=0.0000637,
    width=640,
    height=480,
    mime_type="image/webp",
    transformations=("transposed", "resized"),
)
CACHED = DescribeRecord(
    source="https://example.com/a.png",
    sha256=None,
    description="A cat.",
    usage=TokenUsage(10, 2, 12),
    cached=True,
    model="phi-4-multimodal-instruct",
    prompt_sha256="ab" * 32,
    response_id="chatcmpl-000000000000000000000002",
    finish_reason="stop",
    page=3,
)
SKIPPED = DescribeRecord(
    # A file name that is not UTF-8 (b"caf\xe9.jpg" as the file system decodes it).
    source="photos/caf\udce9.jpg",
    sha256=None,
    error="not an image: the file starts with b'PK'",
    reason="not_an_image",
)
FAILED = DescribeRecord(
    source="photos/r.jpg",
    sha256="cd" * 32,
    usage=TokenUsage(50, 64, 114),
    error="the model used its whole max_tokens=64 before answering",
    reason="empty_answer",
    finish_reason="length",
    model="m",
)
RECORDS = (DESCRIBED, CACHED, SKIPPED, FAILED)


def _write(path: Path, records: tuple[DescribeRecord, ...] = RECORDS, **options: object) -> Path:
    with open_writer(path, **options) as writer:  # type: ignore[arg-type]
        assert isinstance(writer, RecordWriter)
        for record in records:
            writer.write(record)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- each format's exact content ---------------------------------------------------------------


def test_jsonl_holds_each_whole_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "out.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [r.to_json_dict() for r in RECORDS]
    assert json.loads(lines[2])["source"] == "photos/caf\\xe9.jpg"


CSV_HEADER = (
    "source,page,status,description,error,reason,sha256,width,height,mime_type,"
    "transformations,model,prompt_sha256,response_id,finish_reason,input_tokens,"
    "output_tokens,total_tokens,cost_usd,cached\r\n"
)


def test_csv_exact_text(tmp_path: Path) -> None:
    text = _write(tmp_path / "out.csv").read_bytes().decode("utf-8")
    ab, cd, n97 = "ab" * 32, "cd" * 32, "97" * 32
    assert text == (
        CSV_HEADER
        + f'photos/sky.webp,,described,"A blue sky, ""clear""; one cloud | no birds,\nand a '
        f'kite.",,,{n97},640,480,image/webp,transposed;resized,phi-4-multimodal-instruct,{ab},'
        "chatcmpl-000000000000000000000001,stop,1234,20,1254,0.0000637,false\r\n"
        f"https://example.com/a.png,3,cached,A cat.,,,,,,,,phi-4-multimodal-instruct,{ab},"
        "chatcmpl-000000000000000000000002,stop,10,2,12,,true\r\n"
        "photos/caf\\xe9.jpg,,skipped,,not an image: the file starts with b'PK',not_an_image,"
        ",,,,,,,,,,,,,false\r\n"
        "photos/r.jpg,,failed,,the model used its whole max_tokens=64 before answering,"
        f"empty_answer,{cd},,,,,m,,,length,50,64,114,,false\r\n"
    )


def test_csv_structured_columns_follow_the_stable_ones(tmp_path: Path) -> None:
    receipt = DescribeRecord(
        source="r1.jpg",
        sha256=None,
        description='{"vendor": "Café, Inc"}',
        data={"vendor": "Café, Inc", "total": 12.5, "items": ["tea", "cake"], "source": "x"},
    )
    path = _write(
        tmp_path / "out.csv",
        (receipt, SKIPPED),
        columns=["source", "status"],
        properties={"vendor": {"type": "string"}, "total": {}, "items": {}, "source": {}},
    )
    assert path.read_bytes().decode("utf-8") == (
        "source,status,vendor,total,items,data.source\n"
        'r1.jpg,described,"Café, Inc",12.5,"[""tea"", ""cake""]",x\n'
        "photos/caf\\xe9.jpg,skipped,,,,\n"
    ).replace("\n", "\r\n")


def test_parquet_reads_back_typed(tmp_path: Path) -> None:
    table = pq.read_table(_write(tmp_path / "out.parquet"))
    assert table.column_names == list(STABLE_COLUMNS)
    types = {field.name: str(field.type) for field in table.schema}
    assert types["page"] == "int64"
    assert types["transformations"] == "list<element: string>"
    assert types["cost_usd"] == "double"
    assert types["cached"] == "bool"
    rows = table.to_pylist()
    assert rows[0] == {
        "source": "photos/sky.webp",
        "page": None,
        "status": "described",
        "description": DESCRIBED.description,
        "error": None,
        "reason": None,
        "sha256": "97" * 32,
        "width": 640,
        "height": 480,
        "mime_type": "image/webp",
        "transformations": ["transposed", "resized"],
        "model": "phi-4-multimodal-instruct",
        "prompt_sha256": "ab" * 32,
        "response_id": "chatcmpl-000000000000000000000001",
        "finish_reason": "stop",
        "input_tokens": 1234,
        "output_tokens": 20,
        "total_tokens": 1254,
        "cost_usd": 0.0000637,
        "cached": False,
    }
    assert [r["status"] for r in rows] == ["described", "cached", "skipped", "failed"]
    assert rows[1]["page"] == 3
    assert rows[2]["source"] == "photos/caf\\xe9.jpg"
    assert rows[2]["transformations"] == []


def test_parquet_structured_columns_typed_by_the_schema(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    properties = {
        "vendor": {"type": "string"},
        "total": {"type": "number"},
        "count": {"type": ["integer", "null"]},
        "paid": {"type": "boolean"},
        "items": {"type": "array", "items": {"type": "string"}},
    }
    good = DescribeRecord(
        source="a.jpg",
        sha256=None,
        description="{}",
        data={"vendor": "V", "total": 3, "count": 2, "paid": True, "items": ["x"]},
    )
    wrong = DescribeRecord(source="b.jpg", sha256=None, description="{}", data={"count": "two"})
    with caplog.at_level(logging.WARNING):
        table = pq.read_table(
            _write(tmp_path / "out.parquet", (good, wrong, SKIPPED), properties=properties)
        )
    assert table.schema.field("total").type == pa.float64()
    assert table.schema.field("count").type == pa.int64()
    assert table.schema.field("paid").type == pa.bool_()
    assert table.schema.field("items").type == pa.string()
    got = table.select(list(properties)).to_pylist()
    assert got == [
        {"vendor": "V", "total": 3.0, "count": 2, "paid": True, "items": '["x"]'},
        {"vendor": None, "total": None, "count": None, "paid": None, "items": None},
        {"vendor": None, "total": None, "count": None, "paid": None, "items": None},
    ]
    assert "b.jpg: count is 'two', not of the schema's type int64; written as null" in caplog.text


def test_parquet_in_row_groups_keeps_every_row(tmp_path: Path) -> None:
    records = tuple(
        DescribeRecord(source=f"{i}.png", sha256=None, description=str(i)) for i in range(2500)
    )
    parquet = pq.ParquetFile(_write(tmp_path / "out.parquet", records))
    assert parquet.metadata.num_row_groups == 3
    assert parquet.read().column("description").to_pylist() == [str(i) for i in range(2500)]


def test_markdown_exact_text(tmp_path: Path) -> None:
    text = _write(tmp_path / "out.md").read_text(encoding="utf-8")
    assert text == (
        "| image | description |\n"
        "| --- | --- |\n"
        '| photos/sky.webp | A blue sky, "clear"; one cloud \\| no birds,<br>and a kite. |\n'
        "| https://example.com/a.png, page 3 | A cat. |\n"
        "| photos/caf\\\\xe9.jpg | (skipped: not an image: the file starts with b'PK') |\n"
        "| photos/r.jpg | (failed: the model used its whole max_tokens=64 before answering) |\n"
    )


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("a|b", "a\\|b"),
        ("ends with \\", "ends with \\\\"),
        ("\\|", "\\\\\\|"),
        ("one\r\ntwo\rthree\nfour", "one<br>two<br>three<br>four"),
        ("  padded  \n", "padded"),
        ("", " "),
    ],
)
def test_markdown_cells_cannot_break_the_table(text: str, cell: str) -> None:
    assert markdown_cell(text) == cell
    # One line, and every pipe in it escaped: the row keeps its column count.
    assert "\n" not in markdown_cell(text)
    unescaped = markdown_cell(text).replace("\\\\", "").replace("\\|", "")
    assert "|" not in unescaped


def test_markdown_columns_can_be_chosen(tmp_path: Path) -> None:
    text = _write(
        tmp_path / "out.md", (DESCRIBED,), columns=["source", "status", "total_tokens"]
    ).read_text(encoding="utf-8")
    assert text == (
        "| image | status | total_tokens |\n| --- | --- | --- |\n"
        "| photos/sky.webp | described | 1254 |\n"
    )


# -- atomic replacement --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_the_target_changes_only_on_close(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    path.write_bytes(b"the previous run's output")
    path.chmod(0o640)
    writer = open_writer(path)
    writer.write(DESCRIBED)
    assert path.read_bytes() == b"the previous run's output"
    assert len(_leftovers(tmp_path)) == 1
    writer.close()
    writer.close()  # idempotent
    assert path.read_bytes() != b"the previous run's output"
    assert path.stat().st_mode & 0o777 == 0o640  # the target's mode is kept
    assert _leftovers(tmp_path) == []


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        path = _write(tmp_path / "out.csv")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_run_stopped_half_way_keeps_what_was_written(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"

    def interrupted_run() -> None:
        with open_writer(path) as writer:
            writer.write(DESCRIBED)
            writer.write(CACHED)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_run()
    whole = _write(tmp_path / f"whole{suffix}", (DESCRIBED, CACHED))
    assert path.read_bytes() == whole.read_bytes()
    assert _leftovers(tmp_path) == []


# -- bad locations and formats ---------------------------------------------------------------------


def test_an_unknown_extension_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(DescribeOutputError) as info:
        open_writer(tmp_path / "out.xlsx")
    assert str(info.value) == (
        f"cannot write {tmp_path / 'out.xlsx'}: unknown output format '.xlsx'; give a file "
        "ending in .jsonl, .csv, .parquet, .md"
    )
    assert info.value.path == tmp_path / "out.xlsx"
    assert list(tmp_path.iterdir()) == []


def test_the_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = _write(tmp_path / "OUT.CSV", (DESCRIBED,))
    assert path.read_text(encoding="utf-8").startswith("source,page,")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(DescribeOutputError, match=r"out.csv: it is a directory; give a file name"):
        open_writer(tmp_path / "out.csv")


def test_a_file_in_the_way_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("x")
    target = tmp_path / "notes" / "sub" / "out.csv"
    with pytest.raises(DescribeOutputError) as info:
        open_writer(target)
    assert str(info.value) == (
        f"cannot write {target}: {tmp_path / 'notes'} is a file, not a folder; give a path in a "
        "writable folder"
    )


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    path = _write(tmp_path / "new" / "deeper" / "out.jsonl", (DESCRIBED,))
    assert path.exists()


def test_an_unknown_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown column\(s\) 'colour'; the columns are source"):
        open_writer(tmp_path / "out.csv", columns=["source", "colour"])


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r'pip install "langchain-flexai\[parquet\]"'):
        open_writer(tmp_path / "out.parquet")
    assert list(tmp_path.iterdir()) == []


def test_markdown_names_the_page_of_a_pdf(tmp_path: Path) -> None:
    """A PDF's pages share their source: the image cell says which page each row is."""
    path = tmp_path / "pages.md"
    with open_writer(path) as writer:
        for page, caption in ((1, "Title page."), (2, "A chart.")):
            writer.write(
                DescribeRecord(source="report.pdf", sha256=None, description=caption, page=page)
            )
    assert path.read_text(encoding="utf-8") == (
        "| image | description |\n"
        "| --- | --- |\n"
        "| report.pdf, page 1 | Title page. |\n"
        "| report.pdf, page 2 | A chart. |\n"
    )
