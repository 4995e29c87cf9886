"""flexai-vision without a server: usage errors, missing key, unusable images, output formats.

Every error path checks the exact stderr line and exit code a user sees. Paths that need a
server (401, 402, 429, streaming, bulk runs) are in tests/integration_tests/test_cli_emulator.py.
"""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from langchain_flexai import __version__
from langchain_flexai.catalog._client import (
    FlexAICatalog,
    FlexAICatalogError,
    ModelInfo,
    estimate_cost,
    tokens_cost,
)
from langchain_flexai.catalog.profiles import VISION_MODELS
from langchain_flexai.cli import _describe as _cli_describe
from langchain_flexai.cli import _main as cli
from langchain_flexai.cli._common import EXIT_USAGE, CliError, Connection, api_error
from langchain_flexai.cli._models import format_table, model_json
from langchain_flexai.describe._run import DescribeRecord, TokenUsage
from langchain_flexai.errors import ImageErrorReason, ImageInputError

NO_KEY_LINE = (
    "flexai-vision: no API key: set FLEXAI_API_KEY (export FLEXAI_API_KEY=<your key>) "
    "or add --emulator to run offline against the bundled emulator\n"
)
NOT_AN_IMAGE = (
    "the data is not an image in a format we can read "
    "(JPEG, PNG, WebP, GIF, HEIC, AVIF, BMP, TIFF, ICO, PPM, ...)"
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err.splitlines()[-1]


@pytest.fixture
def corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"this is not a JPEG at all")
    return path


class TestUsageErrors:
    def test_no_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        line = usage_error([], capsys)
        assert line == "flexai-vision: error: the following arguments are required: COMMAND"

    def test_describe_needs_an_input(self, capsys: pytest.CaptureFixture[str]) -> None:
        line = usage_error(["describe"], capsys)
        assert line == (
            "flexai-vision describe: error: the following arguments are required: PATH_OR_URL"
        )

    @pytest.mark.parametrize(
        ("value", "why"),
        [("0", "must be at least 1, got 0"), ("two", "expected a whole number, got 'two'")],
    )
    def test_concurrency_must_be_positive(
        self, value: str, why: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = usage_error(["describe", "a.jpg", "--concurrency", value], capsys)
        assert line == f"flexai-vision describe: error: argument --concurrency: {why}"

    def test_resume_needs_out(self, capsys: pytest.CaptureFixture[str]) -> None:
        line = usage_error(["describe", "a.jpg", "--resume"], capsys)
        assert line == (
            "flexai-vision describe: error: --resume needs --out FILE "
            "(the resume cache is kept next to it)"
        )

    @pytest.mark.parametrize("value", ["0", "3-", "1,,2", "a-b", "-2", "1;2"])
    def test_pages_must_be_a_page_list(
        self, value: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = usage_error(["describe", "r.pdf", "--pages", value], capsys)
        assert line == (
            "flexai-vision describe: error: argument --pages: expected pages such as 1-3,7 "
            f"(1-based, ranges with -), got {value!r}"
        )

    @pytest.mark.parametrize(
        "inputs",
        [
            ["a.jpg", "b.jpg", "--stream"],
            ["FOLDER", "--stream"],  # one folder is many images, even with one file in it
            ["a.jpg", "--stream", "--out", "x.jsonl"],
            ["a.jpg", "--stream", "--json"],
            ["https://example.com/a.png", "b.jpg", "--stream"],
            ["report.PDF", "--stream"],  # a PDF is one record per page, even with one page
            ["SCAN", "--stream"],  # a PDF named without its suffix
            ["https://files.example.com/report.pdf?sig=1", "--stream"],
        ],
    )
    def test_stream_needs_exactly_one_image(
        self, inputs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "a.jpg").write_bytes(b"x")
        (tmp_path / "scan").write_bytes(b"%PDF-1.7\n")
        names = {"FOLDER": str(tmp_path), "SCAN": str(tmp_path / "scan")}
        argv = ["describe", *(names.get(a, a) for a in inputs)]
        assert usage_error(argv, capsys) == (
            "flexai-vision describe: error: --stream needs exactly one image (a file or an "
            "https URL) written to the terminal, without --out or --json; folders, PDFs and "
            "several images are a bulk run"
        )

    @pytest.mark.parametrize(
        ("extra", "line"),
        [
            (
                ["--stream", "--sidecar", "txt"],
                "--stream answers in text: --sidecar and --schema are for a bulk run",
            ),
            (
                ["--stream", "--schema", "s.json"],
                "--stream answers in text: --sidecar and --schema are for a bulk run",
            ),
            (["--overwrite"], "--sidecar-name and --overwrite need --sidecar txt|json|xmp"),
            (
                ["--sidecar-name", "full"],
                "--sidecar-name and --overwrite need --sidecar txt|json|xmp",
            ),
        ],
    )
    def test_sidecar_and_schema_option_rules(
        self, extra: list[str], line: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["describe", "a.jpg", *extra]
        assert usage_error(argv, capsys) == f"flexai-vision describe: error: {line}"

    @pytest.mark.parametrize(
        ("argv", "usage", "line"),
        [
            (
                ["describe", "a.jpg", "--bogus"],
                "usage: flexai-vision describe ",
                "flexai-vision describe: error: unrecognized arguments: --bogus",
            ),
            (
                ["describe", "--concurency", "2", "a.jpg"],
                "usage: flexai-vision describe ",
                "flexai-vision describe: error: unrecognized arguments: --concurency",
            ),
            (
                ["models", "--visoin"],
                "usage: flexai-vision models ",
                "flexai-vision models: error: unrecognized arguments: --visoin",
            ),
            (
                ["--bogus", "describe", "a.jpg"],
                "usage: flexai-vision [-h]",
                "flexai-vision: error: unrecognized arguments: --bogus",
            ),
        ],
    )
    def test_an_unknown_option_shows_its_commands_usage(
        self, argv: list[str], usage: str, line: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(usage)
        assert err.splitlines()[-1] == line

    def test_usage_errors_come_before_the_key_check(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("FLEXAI_API_KEY")
        line = usage_error(["describe", "a.jpg", "--rpm", "-5"], capsys)
        assert line == "flexai-vision describe: error: argument --rpm: must be at least 1, got -5"

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exited:
            cli.main(["--version"])
        assert exited.value.code == 0
        assert capsys.readouterr().out == f"flexai-vision {__version__}\n"


class TestNoKey:
    @pytest.mark.parametrize(
        "argv", [["describe", "photo.jpg"], ["describe", "photos/", "--out", "o.jsonl"]]
    )
    def test_one_line_and_exit_3(
        self, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("FLEXAI_API_KEY")
        assert run(argv, capsys) == (3, "", NO_KEY_LINE)

    def test_empty_key_counts_as_none(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("FLEXAI_API_KEY", "")
        assert run(["describe", "photo.jpg"], capsys) == (3, "", NO_KEY_LINE)


class TestEmulatorExtraMissing:
    def test_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        real_import = builtins.__import__

        def no_testing(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == "langchain_flexai.testing":
                raise ImportError("No module named 'starlette'")
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_testing)
        assert run(["models", "--emulator"], capsys) == (
            2,
            "",
            'flexai-vision: --emulator needs the testing extra: pip install "langchain-flexai[testing]"\n',  # noqa: E501
        )


class TestUnusableSingleImage:
    """A single image that cannot be used fails before any request (no socket is opened)."""

    def test_corrupt_file(self, corrupt: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run(["describe", str(corrupt)], capsys) == (
            1,
            "",
            f"flexai-vision: {corrupt}: {NOT_AN_IMAGE}\n",
        )

    def test_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        missing = tmp_path / "nope.png"
        assert run(["describe", str(missing)], capsys) == (
            2,
            "",
            f"flexai-vision: {missing}: no such file or directory\n",
        )

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            (
                "http://example.com/cat.png",
                (
                    "FlexAI needs https:// image URLs, http:// is not accepted; give the "
                    "https:// address, or download the image and give the file"
                ),
            ),
            ("HTTP://example.com/cat.png", "FlexAI needs https:// image URLs"),
            ("file:///home/me/cat.png", "give the file's path (photos/cat.jpg), not a file:// URL"),
            (
                "s3://bucket/cat.png",
                "s3: URLs are not accepted; give an https:// URL or a local file",
            ),
        ],
    )
    def test_urls_flexai_cannot_take_are_refused_in_shell_words(
        self, url: str, why: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(["describe", url], capsys)
        assert (code, out) == (1, "")
        assert err.startswith(f"flexai-vision: {url}: {why}")
        assert err.count("\n") == 1
        assert "pathlib" not in err
        assert "Path" not in err


class TestMissingPaths:
    """A path on the command line that does not exist or cannot be listed: exit 2, one line,
    before any request is sent or any output is written (no socket is opened here)."""

    @pytest.mark.parametrize("extra", [[], ["--json"], ["--out", "OUT"], ["--stream"]])
    def test_a_missing_path_among_others(
        self, tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        good = tmp_path / "a.png"
        Image.new("RGB", (8, 8)).save(good)
        missing = tmp_path / "photos-typo"
        out = tmp_path / "captions.jsonl"
        out.write_text("earlier records\n")
        argv = ["describe", str(good), str(missing), *extra]
        argv = [str(out) if a == "OUT" else a for a in argv]
        if extra == ["--stream"]:
            argv = ["describe", str(missing), "--stream"]
        assert run(argv, capsys) == (
            2,
            "",
            f"flexai-vision: {missing}: no such file or directory\n",
        )
        assert out.read_text() == "earlier records\n"

    def test_a_file_that_cannot_be_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        secret = tmp_path / "secret.png"
        Image.new("RGB", (8, 8)).save(secret)
        monkeypatch.setattr(os, "access", lambda p, mode: p != str(secret))
        for argv in (["describe", str(secret)], ["describe", str(secret), str(secret), "--json"]):
            assert run(argv, capsys) == (
                2,
                "",
                f"flexai-vision: {secret}: cannot read it: Permission denied\n",
            )

    def test_a_folder_that_cannot_be_listed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        locked = tmp_path / "locked"
        locked.mkdir()

        def scandir(path: str) -> object:
            raise PermissionError(13, "Permission denied", os.fspath(path))

        monkeypatch.setattr(os, "scandir", scandir)
        code, out, err = run(["describe", str(locked), "--json"], capsys)
        assert (code, out, err) == (
            2,
            "",
            f"flexai-vision: {locked}: cannot read it: Permission denied\n",
        )


class TestOutput:
    def test_text_record_described(self) -> None:
        record = DescribeRecord(source="a/cat.jpg", sha256="00", description="A cat.\nOn a mat.")
        assert _cli_describe._text_record(record) == "a/cat.jpg\n  A cat.\n  On a mat.\n"

    def test_text_record_skipped_shows_the_detail_without_the_source_twice(self) -> None:
        error = ImageInputError(NOT_AN_IMAGE, reason=ImageErrorReason.NOT_AN_IMAGE, source="b.jpg")
        record = DescribeRecord(
            source="b.jpg", sha256=None, error=str(error), reason="not_an_image", exception=error
        )
        assert _cli_describe._text_record(record) == f"b.jpg\n  [skipped] {NOT_AN_IMAGE}\n"

    def test_usage_line_with_prices(self, monkeypatch: pytest.MonkeyPatch) -> None:
        info = ModelInfo(id="m-1", name="M", input_per_mtok=0.5, output_per_mtok=2.0)
        monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: info)
        line = _cli_describe.usage_line(
            TokenUsage(1000, 200, 1200), Connection("u", None, emulated=False), "m-1"
        )
        # 1000 * 0.5 / 1e6 + 200 * 2.0 / 1e6 = 0.0009
        assert line == "1000 prompt + 200 completion tokens; cost $0.000900 (m-1)"

    @pytest.mark.parametrize(
        ("prices", "shown"),
        [((0.5, 2.0), True), ((None, 2.0), False), ((0.5, None), False), ((0.0, 0.0), True)],
    )
    def test_usage_line_prices_like_estimate_cost(
        self, monkeypatch: pytest.MonkeyPatch, prices: tuple[float | None, ...], shown: bool
    ) -> None:
        # One price formula: the CLI's line and estimate_cost agree on every count.
        info = ModelInfo(id="m-1", name="M", input_per_mtok=prices[0], output_per_mtok=prices[1])
        monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: info)
        catalog = FlexAICatalog.from_models([info])
        for prompt, completion in [(1, 1), (123_457, 8_191), (7_000_003, 0)]:
            usage = TokenUsage(prompt, completion, prompt + completion)
            line = _cli_describe.usage_line(usage, Connection("u", None, emulated=False), "m-1")
            cost = tokens_cost((prompt, prices[0]), (completion, prices[1]))
            assert (cost is not None) is shown
            if cost is None:
                assert "cost" not in line
                continue
            assert line.endswith(f"; cost ${cost:.6f} (m-1)")
            estimate = estimate_cost(
                [HumanMessage("x")], "m-1", catalog=catalog, max_output_tokens=completion
            )
            assert estimate.input_cost == tokens_cost((estimate.prompt_tokens, prices[0]))
            assert estimate.max_output_cost == tokens_cost((completion, prices[1]))
            assert cost == pytest.approx(
                (prompt * (prices[0] or 0) + completion * (prices[1] or 0)) / 1_000_000, abs=0
            )

    def test_usage_line_without_prices_and_with_savings(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: None)
        line = _cli_describe.usage_line(
            TokenUsage(10, 2, 12),
            Connection("u", None, emulated=False),
            "m",
            saved=TokenUsage(30, 6, 36),
        )
        assert line == "10 prompt + 2 completion tokens; 36 tokens saved by the resume cache"

    @pytest.mark.parametrize(
        ("record", "refused"),
        [
            (None, True),  # catalog unreadable or silent: the static table knows gpt-oss-120b
            (ModelInfo(id="gpt-oss-120b", name="g", capabilities=frozenset({"vision"})), False),
        ],
    )
    def test_text_only_refusal_follows_the_library_rule(
        self, monkeypatch: pytest.MonkeyPatch, record: ModelInfo | None, *, refused: bool
    ) -> None:
        monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: record)
        monkeypatch.setattr(_cli_describe, "catalog_for", _unreadable_catalog)
        connection = Connection("https://tokens.flex.ai/v1", "k", emulated=False)
        if not refused:
            _cli_describe._refuse_text_only(connection, "gpt-oss-120b")
            return
        with pytest.raises(CliError) as info:
            _cli_describe._refuse_text_only(connection, "gpt-oss-120b")
        assert str(info.value) == (
            f"gpt-oss-120b does not read images; vision models: {', '.join(VISION_MODELS)}"
        )
        assert info.value.code == EXIT_USAGE

    def test_unknown_model_is_not_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_cli_describe, "find_prices", lambda _c, _m: None)
        connection = Connection("https://tokens.flex.ai/v1", "k", emulated=False)
        _cli_describe._refuse_text_only(connection, "my-private-finetune")

    def test_models_table(self) -> None:
        models = [
            ModelInfo(
                id="phi-4-multimodal-instruct",
                name="Phi",
                category="vision",
                capabilities=frozenset({"vision"}),
                context_window=131072,
                input_per_mtok=0.05,
                output_per_mtok=0.1,
                health="healthy",
            ),
            ModelInfo(id="txt", name="T", category="text"),
        ]
        assert format_table(models).splitlines() == [
            "MODEL                      CATEGORY  VISION  CONTEXT  IN $/MTOK  OUT $/MTOK  HEALTH",
            "phi-4-multimodal-instruct  vision    yes     131,072       0.05         0.1  healthy",
            "txt                        text      no            -          -           -  -",
        ]
        assert model_json(models[1]) == {
            "id": "txt",
            "name": "T",
            "category": "text",
            "vision": False,
            "capabilities": [],
            "context_window": None,
            "max_output": None,
            "input_per_mtok": None,
            "output_per_mtok": None,
            "health": None,
        }

    def test_connection_repr_hides_the_key(self) -> None:
        assert "secret" not in repr(Connection("https://x/v1", "secret-key", emulated=False))


class TestSingleOrBulk:
    @pytest.mark.parametrize(
        ("argv", "single"),
        [
            (["one.jpg"], True),
            (["https://example.com/a.png"], True),
            (["one.jpg", "two.jpg"], False),
            (["one.jpg", "--out", "o.jsonl"], False),
            (["https://example.com/report.PDF?sig=1"], False),  # one record per page
            (["https://example.com/report.pdf.png"], True),
        ],
    )
    def test_mode(self, argv: list[str], single: bool) -> None:
        args = cli.build_parser().parse_args(["describe", *argv])
        assert _cli_describe._single(args) is single

    @pytest.mark.parametrize(
        ("text", "is_url"),
        [
            ("https://example.com/a.png", True),
            ("HTTPS://example.com/a.png", True),
            ("https:/../secret.png", True),  # refused as a URL, never read as a path
            ("data:image/png;base64,AAAA", True),
            ("http://example.com/a.png", True),
            ("file:///etc/passwd", True),
            ("s3://bucket/a.png", True),
            ("photos/cat.png", False),
            ("C:\\photos\\cat.png", False),
            ("./a:b.png", False),
        ],
    )
    def test_urls_use_the_shared_rules(self, text: str, is_url: bool) -> None:
        assert _cli_describe._is_url(text) is is_url

    def test_a_folder_is_bulk(self, tmp_path: Path) -> None:
        Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
        args = cli.build_parser().parse_args(["describe", str(tmp_path)])
        assert _cli_describe._single(args) is False


def test_api_error_connection_names_the_url_not_the_key() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    error = openai.APIConnectionError(request=request)
    error.__cause__ = httpx.ConnectError("[Errno 111] Connection refused")
    problem = api_error(error, "http://127.0.0.1:9/v1")
    assert (problem.code, problem.message) == (
        3,
        "cannot reach http://127.0.0.1:9/v1: [Errno 111] Connection refused",
    )


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "langchain_flexai", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, f"flexai-vision {__version__}\n")


def _unreadable_catalog(_connection: Connection) -> Any:
    class _Catalog:
        def list_models(self, _capability: str | None = None) -> list[ModelInfo]:
            raise FlexAICatalogError("unreadable")

    return _Catalog()
