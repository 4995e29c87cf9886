"""``flexai-vision describe --out`` in every format against the emulator, as a user runs it.

The files' exact content (CSV text, Parquet read back, Markdown text), resume with every format,
runs stopped half-way, unwritable outputs (nothing sent), reproducibility settings on the wire
and in the resume key, reasoning models that spend the budget thinking, the progress total.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from langchain_flexai.cli import _describe as cli_describe
from langchain_flexai.cli import _main as cli
from langchain_flexai.describe import _state
from langchain_flexai.describe._tabular import STABLE_COLUMNS
from langchain_flexai.testing import DEFAULT_CATALOG, FlexAIEmulator, RecordedRequest
from langchain_flexai.testing._catalog_data import CatalogModel
from tests.integration_tests import _target

pytestmark = pytest.mark.skipif(_target.LIVE, reason="checks the emulator's exact answers")

IMAGES = Path(__file__).resolve().parents[2] / "examples" / "images"
MODEL = "phi-4-multimodal-instruct"
PRICE_IN, PRICE_OUT = 0.05, 0.10
PROMPT_SHA = hashlib.sha256(cli.DEFAULT_PROMPT.encode()).hexdigest()
NOT_AN_IMAGE = (
    "the data is not an image in a format we can read (JPEG, PNG, WebP, GIF, HEIC, AVIF, BMP, "
    "TIFF, ICO, PPM, ...)"
)
# name: (format, width, height, mime type, colour, transformations), as the emulator sees them.
SEEN = {
    "leaf.png": ("PNG", 128, 128, "image/png", "green", ""),
    "note-rotated.jpg": ("JPEG", 96, 160, "image/jpeg", "yellow", "transposed"),
    "sky.webp": ("WEBP", 160, 100, "image/webp", "blue", ""),
}


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


def photos(root: Path, *names: str, broken: bool = True) -> Path:
    folder = root / "photos"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(IMAGES / name, folder / name)
    if broken:
        (folder / "broken.png").write_bytes(b"not an image")
    return folder


def description(name: str) -> str:
    fmt, width, height, _, colour, _ = SEEN[name]
    return (
        f"Received 1 message with 1 text part and 1 image.\nImage 1: {fmt} {width}x{height}, "
        f"{colour}."
    )


def tokens(name: str) -> tuple[int, int]:
    """The emulator's token counts for one image with the default prompt (docs/emulator.md)."""
    _, width, height, *_ = SEEN[name]
    text = math.ceil(len(cli.DEFAULT_PROMPT.encode()) / 4)
    image = math.ceil(width / 28) * math.ceil(height / 28)
    return 4 + text + image, math.ceil(len(description(name).encode()) / 4)


def sha256_sent(path: Path) -> str:
    from langchain_flexai.images import prepare_image  # noqa: PLC0415

    return prepare_image(path).sha256 or ""


def expected_rows(folder: Path, names: list[str], first_id: int = 1) -> list[dict[str, Any]]:
    """Every stable column, typed, for ``broken.png`` then ``names`` described in order."""
    rows: list[dict[str, Any]] = [
        {
            **dict.fromkeys(STABLE_COLUMNS),
            "source": str(folder / "broken.png"),
            "status": "skipped",
            "error": NOT_AN_IMAGE,
            "reason": "not_an_image",
            "transformations": [],
            "cached": False,
        }
    ]
    for number, name in enumerate(names, start=first_id):
        _, width, height, mime, _, steps = SEEN[name]
        prompt, completion = tokens(name)
        rows.append(
            {
                "source": str(folder / name),
                "page": None,
                "status": "described",
                "description": description(name),
                "error": None,
                "reason": None,
                "sha256": sha256_sent(folder / name),
                "width": width,
                "height": height,
                "mime_type": mime,
                "transformations": [steps] if steps else [],
                "model": MODEL,
                "prompt_sha256": PROMPT_SHA,
                "response_id": f"chatcmpl-{number:024x}",
                "finish_reason": "stop",
                "input_tokens": prompt,
                "output_tokens": completion,
                "total_tokens": prompt + completion,
                "cost_usd": round((prompt * PRICE_IN + completion * PRICE_OUT) / 1e6, 12),
                "cached": False,
            }
        )
    return rows


def _csv_cell(value: object) -> str:
    # Written out by hand (not with the csv module): this is what a spreadsheet receives.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, float):
        return f"{value:.12f}".rstrip("0")
    text = str(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_text(rows: list[dict[str, Any]]) -> str:
    lines = [",".join(STABLE_COLUMNS)]
    lines += [",".join(_csv_cell(row[name]) for name in STABLE_COLUMNS) for row in rows]
    return "".join(line + "\r\n" for line in lines)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The records of any output file as typed rows (for the formats compared generically)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return [
            {
                # `data` and the sidecar fields are JSON-only (tables: schema columns instead).
                **{
                    k: v
                    for k, v in r.items()
                    if k not in ("usage", "data", "sidecar", "sidecar_status")
                },
                **(r["usage"] or dict.fromkeys(("input_tokens", "output_tokens", "total_tokens"))),
            }
            for r in records
        ]
    if path.suffix == ".md":
        lines = path.read_text(encoding="utf-8").splitlines()[2:]
        cells = [line.strip("| ").split(" | ") for line in lines]
        return [{"source": s, "description": d.replace("<br>", "\n")} for s, d in cells]
    raise AssertionError(path)


def view(rows: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    """``rows`` as a format shows them: Markdown holds only the image and its description."""
    if suffix != ".md":
        return [{name: row[name] for name in STABLE_COLUMNS} for row in rows]
    return [
        {
            "source": row["source"],
            "description": row["description"] or f"({row['status']}: {row['error']})",
        }
        for row in rows
    ]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# -- each format's exact content -------------------------------------------------------------


def test_csv_exact_text(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", "note-rotated.jpg")
    out = tmp_path / "captions.csv"
    code, stdout, _ = run(
        ["describe", str(folder), "--out", str(out), "--concurrency", "1"], capsys
    )
    assert (code, stdout) == (1, "")  # 1: broken.png was skipped
    rows = expected_rows(folder, ["leaf.png", "note-rotated.jpg"])
    assert out.read_bytes().decode("utf-8") == csv_text(rows)
    assert leftovers(tmp_path) == []


def test_parquet_reads_back_typed(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", "sky.webp")
    out = tmp_path / "captions.parquet"
    code, _, _ = run(["describe", str(folder), "--out", str(out), "--concurrency", "1"], capsys)
    assert code == 1
    table = pq.read_table(out)
    assert table.column_names == list(STABLE_COLUMNS)
    assert table.to_pylist() == expected_rows(folder, ["leaf.png", "sky.webp"])
    assert str(table.schema.field("input_tokens").type) == "int64"


def test_markdown_exact_text(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", "sky.webp")
    out = tmp_path / "alt-text.md"
    code, _, _ = run(["describe", str(folder), "--out", str(out)], capsys)
    assert code == 1
    assert out.read_text(encoding="utf-8") == (
        "| image | description |\n"
        "| --- | --- |\n"
        f"| {folder / 'broken.png'} | (skipped: {NOT_AN_IMAGE}) |\n"
        f"| {folder / 'leaf.png'} | {description('leaf.png').replace(chr(10), '<br>')} |\n"
        f"| {folder / 'sky.webp'} | {description('sky.webp').replace(chr(10), '<br>')} |\n"
    )


def test_jsonl_records_hold_every_column(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "note-rotated.jpg")
    out = tmp_path / "captions.jsonl"
    run(["describe", str(folder), "--out", str(out)], capsys)
    # JSON lines keep usage as an object (read_rows flattens it) and carry `data` (None here).
    assert read_rows(out) == expected_rows(folder, ["note-rotated.jpg"])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["data"] for line in lines] == [None, None]
    prompt, completion = tokens("note-rotated.jpg")
    assert json.loads(lines[1])["usage"] == {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


def test_an_unknown_extension_is_exit_2_before_any_request(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png")
    out = tmp_path / "captions.xlsx"
    code, _, err = run(["describe", str(folder), "--out", str(out)], capsys)
    assert code == 2
    assert err == (
        f"flexai-vision: cannot write {out}: unknown output format '.xlsx'; give a file ending "
        "in .jsonl, .csv, .parquet, .md\n"
    )
    assert emulator.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_an_unwritable_out_is_exit_2_before_any_request(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    folder = photos(tmp_path, "leaf.png")
    (tmp_path / "notes.txt").write_text("mine")
    if where == "under-a-file":
        out = tmp_path / "notes.txt" / "captions.csv"
        why = f"{tmp_path / 'notes.txt'} is a file, not a folder; give a path in a writable folder"
    else:
        out = tmp_path / "captions.csv"
        out.mkdir()
        why = "it is a directory; give a file name, such as captions.jsonl"
    code, _, err = run(["describe", str(folder), "--out", str(out), "--resume"], capsys)
    assert (code, err) == (2, f"flexai-vision: cannot write {out}: {why}\n")
    assert emulator.requests == []  # not even the catalog
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not Path(f"{out}.cache.sqlite").exists() or where == "a-folder"


def test_a_run_refused_before_it_starts_leaves_the_previous_output(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png")
    out = tmp_path / "captions.csv"
    out.write_text("the previous run's captions")
    text_only = next(m.id for m in DEFAULT_CATALOG if m.category == "text")
    code, _, _ = run(["describe", str(folder), "--out", str(out), "--model", text_only], capsys)
    assert code == 2
    assert out.read_text() == "the previous run's captions"
    assert leftovers(tmp_path) == []
    assert chat_requests(emulator) == []


# -- resume and runs stopped half-way -------------------------------------------------------------

SUFFIXES = [".jsonl", ".csv", ".parquet", ".md"]


def _rows_of(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        import csv  # noqa: PLC0415

        with path.open(encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))
    return read_rows(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_resume_with_every_format(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    folder = photos(tmp_path, "leaf.png", "sky.webp", broken=False)
    out = tmp_path / f"captions{suffix}"
    argv = ["describe", str(folder), "--out", str(out), "--resume", "--concurrency", "1"]
    assert run(argv, capsys)[0] == 0
    first = _rows_of(out)
    # A new image sorts between the two: the second run pays for it alone and writes all three
    # in input order, the earlier two from the cache, as they were.
    shutil.copy(IMAGES / "note-rotated.jpg", folder / "note-rotated.jpg")
    code, _, err = run(argv, capsys)
    assert code == 0
    assert "1 described, 2 from cache" in err
    assert len(chat_requests(emulator)) == 3
    second = _rows_of(out)
    assert [Path(r["source"]).name for r in second] == ["leaf.png", "note-rotated.jpg", "sky.webp"]
    cached = {"status": "cached", "cached": "true" if suffix == ".csv" else True}
    if suffix == ".md":
        cached = {}
    assert second[0] == {**first[0], **cached}
    assert second[2] == {**first[1], **cached}
    if suffix != ".md":
        assert second[1]["status"] == "described"
        assert second[1]["response_id"] == f"chatcmpl-{3:024x}"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_run_stopped_by_no_credit_keeps_every_record_and_resumes(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    folder = photos(tmp_path, "leaf.png", "note-rotated.jpg", "sky.webp")
    out = tmp_path / f"captions{suffix}"
    argv = ["describe", str(folder), "--out", str(out), "--resume", "--concurrency", "1"]
    emulator.faults.credit_budget = 1e-9  # the first request spends it; the next gets 402
    code, _, err = run(argv, capsys)
    assert code == 3
    assert "402" in err or "credit" in err.lower()
    rows = expected_rows(folder, ["leaf.png"])
    if suffix == ".csv":
        assert out.read_bytes().decode("utf-8") == csv_text(rows)
    else:
        assert read_rows(out) == view(rows, suffix)
    assert leftovers(tmp_path) == []
    paid = len(chat_requests(emulator))
    emulator.faults.credit_budget = None
    code, _, err = run(argv, capsys)
    assert code == 1  # broken.png
    assert "2 described, 1 from cache, 1 skipped" in err
    assert len(chat_requests(emulator)) == paid + 2
    assert [Path(r["source"]).name for r in _rows_of(out)] == [
        "broken.png",
        "leaf.png",
        "note-rotated.jpg",
        "sky.webp",
    ]


# -- reproducibility ------------------------------------------------------------------------------


def test_seed_temperature_and_max_tokens_reach_the_wire_and_the_resume_key(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", broken=False)
    out = tmp_path / "captions.jsonl"
    base = ["describe", str(folder), "--out", str(out), "--resume"]
    settings = ["--seed", "7", "--temperature", "0.2", "--max-tokens", "300"]
    assert run([*base, *settings], capsys)[0] == 0
    (body,) = [r.body for r in chat_requests(emulator)]
    assert (body["seed"], body["temperature"], body["max_tokens"]) == (7, 0.2, 300)
    assert run([*base, *settings], capsys)[0] == 0
    assert len(chat_requests(emulator)) == 1  # the same settings: from the cache
    assert read_rows(out)[0]["status"] == "cached"
    changed = [
        ["--seed", "8", "--temperature", "0.2", "--max-tokens", "300"],
        ["--seed", "7", "--temperature", "0.3", "--max-tokens", "300"],
        ["--seed", "7", "--temperature", "0.2", "--max-tokens", "301"],
        ["--seed", "7", "--temperature", "0.2"],
    ]
    for number, other in enumerate(changed, start=2):
        assert run([*base, *other], capsys)[0] == 0
        assert len(chat_requests(emulator)) == number, other  # a change is a cache miss
        assert read_rows(out)[0]["status"] == "described"
    last = chat_requests(emulator)[-1].body
    assert "max_tokens" not in last  # an unset setting is the server's default


def test_without_settings_nothing_is_added_to_the_request(
    emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", broken=False)
    run(["describe", str(folder), "--out", str(tmp_path / "c.jsonl")], capsys)
    (body,) = [r.body for r in chat_requests(emulator)]
    assert not {"seed", "temperature", "max_tokens"} & set(body)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (["--temperature", "-1"], "argument --temperature: must be a number >= 0, got -1"),
        (["--temperature", "nan"], "argument --temperature: must be a number >= 0, got nan"),
        (["--max-tokens", "0"], "argument --max-tokens: must be at least 1, got 0"),
    ],
)
def test_bad_settings_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["describe", "a.jpg", *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"flexai-vision describe: error: {message}"


# -- reasoning models ----------------------------------------------------------------------------

THINKER = CatalogModel(
    id="vision-thinker",
    name="Vision Thinker",
    owned_by="test",
    hugging_face_id="test/vision-thinker",
    description="A reasoning vision model.",
    category="vision",
    input_per_mtok=0.1,
    output_per_mtok=0.2,
    supports=("chat", "streaming", "vision", "image_input", "reasoning"),
    reasoning_content=True,
)


def test_a_reasoning_model_that_spends_the_budget_thinking_is_a_failed_record(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = photos(tmp_path, "leaf.png", broken=False)
    out = tmp_path / "captions.csv"
    argv = ["describe", str(folder), "--out", str(out), "--resume", "--model", THINKER.id]
    with FlexAIEmulator(catalog=(*DEFAULT_CATALOG, THINKER)) as emu:
        monkeypatch.setenv("FLEXAI_API_BASE", emu.base_url)
        monkeypatch.setenv("FLEXAI_API_KEY", emu.api_key)
        code, _, err = run([*argv, "--max-tokens", "16"], capsys)
        message = (
            "the model used its whole max_tokens=16 before answering (finish_reason='length'); "
            "reasoning models spend it on thinking: raise max_tokens (--max-tokens on the "
            "command line)"
        )
        assert code == 1
        assert f"flexai-vision: failed {folder / 'leaf.png'}: {message}\n" in err
        (row,) = _rows_of(out)
        assert (row["status"], row["description"], row["finish_reason"], row["error"]) == (
            "failed",
            "",
            "length",
            message,
        )
        assert row["reason"] == "empty_answer"
        assert row["response_id"].startswith("chatcmpl-")
        # Not cached: the next run asks again, and with a budget that leaves room, answers.
        code, _, _ = run([*argv, "--max-tokens", "400"], capsys)
        assert code == 0
        (row,) = _rows_of(out)
        assert row["status"] == "described"
        assert row["description"] == description("leaf.png")
        assert len([r for r in emu.requests if r.path == "/v1/chat/completions"]) == 2


# -- progress ------------------------------------------------------------------------------------


def test_the_progress_bar_gets_the_total(
    emulator: FlexAIEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = photos(tmp_path, "leaf.png", "sky.webp")
    (folder / "notes.txt").write_text("not an image suffix: not walked")
    (folder / ".hidden.png").write_bytes(b"hidden: not walked")
    bars: list[tuple[int | None, int]] = []

    class Bar:
        def __init__(self, *, enabled: bool, total: int | None, desc: str) -> None:
            self.total, self.count = total, 0

        def advance(self, counts: dict[str, int]) -> None:
            self.count += 1

        def close(self) -> None:
            bars.append((self.total, self.count))

    monkeypatch.setattr(_state, "ProgressBar", Bar)
    url = "https://example.com/cat.png"
    run(["describe", str(folder), url, str(IMAGES / "leaf.png"), "--json"], capsys)
    # broken.png, leaf.png, sky.webp, the URL, the file: the total is the records' count.
    assert bars == [(5, 5)]


def test_the_count_reads_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = photos(tmp_path, "leaf.png", "sky.webp")
    (folder / "deeper").mkdir()
    (folder / "deeper" / "a.jpg").write_bytes(b"x")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a file was opened: {args}")

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(os, "open", refuse)
    assert cli_describe._count_inputs([str(folder), "https://example.com/x.png"]) == 5


def test_the_count_of_a_folder_that_cannot_be_listed_is_unknown(tmp_path: Path) -> None:
    assert cli_describe._count_inputs([str(tmp_path / "missing")]) is None


def test_the_emulator_s_reasoning_model_spends_the_budget_thinking(
    emulator: FlexAIEmulator,
) -> None:
    thinker = next(m.id for m in DEFAULT_CATALOG if m.reasoning_content)
    short = emulator.chat_model(model=thinker, max_tokens=8).invoke("Hello")
    assert (short.text, short.response_metadata["finish_reason"]) == ("", "length")
    assert short.additional_kwargs["reasoning_content"].startswith("The emulator does not reason")
    roomy = emulator.chat_model(model=thinker, max_tokens=400).invoke("Hello")
    assert roomy.response_metadata["finish_reason"] == "stop"
    assert roomy.text.startswith("Received 1 message")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_ctrl_c_mid_run_keeps_the_records_written(
    emulator: FlexAIEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    folder = photos(tmp_path, "leaf.png", "note-rotated.jpg", "sky.webp", broken=False)
    out = tmp_path / f"captions{suffix}"
    out.write_text("the previous run's output")
    real_open = cli_describe.open_writer

    def interrupted_after_two(path: str, **options: Any) -> Any:
        writer = real_open(path, **options)
        real_write = writer.write
        written: list[object] = []

        def write(record: Any) -> None:
            if len(written) == 2:
                raise KeyboardInterrupt  # Ctrl+C while the third record is on its way
            written.append(record)
            real_write(record)

        writer.write = write  # type: ignore[method-assign]
        return writer

    monkeypatch.setattr(cli_describe, "open_writer", interrupted_after_two)
    code, _, _ = run(["describe", str(folder), "--out", str(out), "--concurrency", "1"], capsys)
    assert code == 130
    names = [Path(r["source"]).name for r in _rows_of(out)]
    assert names == ["leaf.png", "note-rotated.jpg"]
    assert leftovers(tmp_path) == []
