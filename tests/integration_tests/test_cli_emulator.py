"""flexai-vision against the emulator: answers, JSON lines, resume, and every API error path.

Each error test checks the exact stderr line and the exit code. Tests that need a fault (a wrong
key, no credit, a 429) run their own emulator and point the CLI at it through FLEXAI_API_BASE /
FLEXAI_API_KEY, exactly as a user's shell would; `--emulator` starts one in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from langchain_flexai.cli import _main as cli
from langchain_flexai.images import prepare_image
from langchain_flexai.testing import DEFAULT_CATALOG, FlexAIEmulator, RecordedRequest
from tests.integration_tests import _target
from tests.unit_tests.loader_samples import make_deep_tree, remove_deep_tree

pytestmark = pytest.mark.skipif(_target.LIVE, reason="checks the emulator's exact answers")

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "examples" / "images"
SUNSET = IMAGES / "sunset.jpg"
SUNSET_ANSWER = "Received 1 message with 1 text part and 1 image.\nImage 1: JPEG 192x128, orange."
ANSWERS = {
    "leaf.png": "PNG 128x128, green",
    "note-rotated.jpg": "JPEG 96x160, yellow",  # EXIF orientation applied: upright
    "sky.webp": "WEBP 160x100, blue",
    "sunset.jpg": "JPEG 192x128, orange",
}
PRICES = {model.id: (model.input_per_mtok, model.output_per_mtok) for model in DEFAULT_CATALOG}
USAGE = re.compile(
    r"flexai-vision: (?:(?P<counts>.*); )?(?P<prompt>\d+) prompt \+ (?P<completion>\d+) "
    r"completion tokens; cost \$(?P<cost>[0-9.]+) \((?P<model>[^)]+)\)"
)


def chat_requests(emulator: FlexAIEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/chat/completions"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_usage(line: str, model: str = "phi-4-multimodal-instruct") -> re.Match[str]:
    match = USAGE.fullmatch(line)
    assert match is not None, line
    assert match["model"] == model
    price_in, price_out = PRICES[model]
    cost = (int(match["prompt"]) * price_in + int(match["completion"]) * price_out) / 1e6
    assert match["cost"] == f"{cost:.6f}"
    return match


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlexAIEmulator]:
    """A private emulator the CLI reaches through the environment, as from a user's shell."""
    with FlexAIEmulator() as emu:
        monkeypatch.setenv("FLEXAI_API_BASE", emu.base_url)
        monkeypatch.setenv("FLEXAI_API_KEY", emu.api_key)
        yield emu


class TestOneImage:
    def test_streamed_answer_and_usage(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(["describe", str(SUNSET)], capsys)
        assert (code, out) == (0, SUNSET_ANSWER + "\n")
        match = check_usage(err.rstrip("\n"))
        assert match["counts"] is None
        chat = chat_requests(emulator)
        assert len(chat) == 1
        assert chat[0].body["stream"] is True
        assert chat[0].body["messages"][0]["content"][0] == {
            "type": "text",
            "text": cli.DEFAULT_PROMPT,
        }
        assert chat[0].image_urls[0].startswith("data:image/jpeg;base64,")

    def test_json_record(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(
            ["describe", str(SUNSET), "--json", "--prompt", "Colour?", "--model", "gemma-4-31b-it"],
            capsys,
        )
        assert code == 0
        record = json.loads(out)
        match = check_usage(err.rstrip("\n"), "gemma-4-31b-it")
        prepared = prepare_image(SUNSET)
        assert record == {
            "source": str(SUNSET),
            "page": None,
            "sha256": record["sha256"],
            "status": "described",
            "description": SUNSET_ANSWER,
            "usage": {
                "input_tokens": int(match["prompt"]),
                "output_tokens": int(match["completion"]),
                "total_tokens": int(match["prompt"]) + int(match["completion"]),
            },
            "cached": False,
            "error": None,
            "reason": None,
            "model": "gemma-4-31b-it",
            "prompt_sha256": hashlib.sha256(b"Colour?").hexdigest(),
            "response_id": record["response_id"],
            "finish_reason": "stop",
            "cost_usd": pytest.approx(
                (int(match["prompt"]) * 0.14 + int(match["completion"]) * 0.40) / 1e6
            ),
            "width": prepared.width,
            "height": prepared.height,
            "mime_type": prepared.mime_type,
            "transformations": list(prepared.transformations),
            "data": None,
            "sidecar": None,
            "sidecar_status": None,
        }
        assert re.fullmatch(r"chatcmpl-[0-9a-f]+", record["response_id"])
        assert len(record["sha256"]) == 64
        body = chat_requests(emulator)[-1].body
        assert body["model"] == "gemma-4-31b-it"
        assert body.get("stream") is not True
        assert body["messages"][0]["content"][0]["text"] == "Colour?"

    def test_emulator_flag_needs_no_key(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("FLEXAI_API_KEY", raising=False)
        code, out, _ = run(["describe", str(SUNSET), "--emulator", "--no-stream"], capsys)
        assert (code, out) == (0, SUNSET_ANSWER + "\n")


class TestManyImages:
    def test_folder_as_text(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(["describe", str(IMAGES)], capsys)
        assert code == 0
        expected = "".join(
            f"{IMAGES / name}\n  Received 1 message with 1 text part and 1 image.\n"
            f"  Image 1: {answer}.\n"
            for name, answer in sorted(ANSWERS.items())
        )
        assert out == expected
        match = check_usage(err.rstrip("\n"))
        assert match["counts"] == "4 described, 0 from cache, 0 skipped, 0 failed"

    def test_out_and_resume_pay_once(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "captions.jsonl"
        argv = ["describe", str(IMAGES), "--out", str(out_file), "--resume", "--rpm", "600"]
        code, out, err = run(argv, capsys)
        assert (code, out) == (0, "")
        first = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert [Path(r["source"]).name for r in first] == sorted(ANSWERS)
        assert {r["status"] for r in first} == {"described"}
        assert (tmp_path / "captions.jsonl.cache.sqlite").is_file()
        sent = len(chat_requests(emulator))

        code, out, err = run(argv, capsys)
        assert (code, out) == (0, "")
        assert len(chat_requests(emulator)) == sent  # nothing paid twice
        second = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert [r["status"] for r in second] == ["cached"] * 4
        assert [r["description"] for r in second] == [r["description"] for r in first]
        saved = sum(r["usage"]["total_tokens"] for r in first)
        assert err == (
            "flexai-vision: 0 described, 4 from cache, 0 skipped, 0 failed; 0 prompt + 0 "
            "completion tokens; cost $0.000000 (phi-4-multimodal-instruct); "
            f"{saved} tokens saved by the resume cache\n"
        )

    def test_a_corrupt_file_is_skipped_and_exit_1(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        broken = tmp_path / "broken.jpg"
        broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
        code, out, err = run(["describe", str(SUNSET), str(broken), "--json"], capsys)
        assert code == 1
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["status"] for r in records] == ["described", "skipped"]
        assert records[1]["reason"] == "corrupt"
        lines = err.splitlines()
        assert lines[0] == f"flexai-vision: skipped {broken}: {records[1]['error']}"
        assert check_usage(lines[1])["counts"] == "1 described, 0 from cache, 1 skipped, 0 failed"
        assert len(lines) == 2

    def test_https_urls_are_sent_not_fetched(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = "https://example.com/cat.png"
        code, out, _ = run(["describe", str(SUNSET), url, "--json"], capsys)
        assert code == 0
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["source"] for r in records] == [str(SUNSET), url]
        assert "https URL https://example.com/cat.png (not fetched" in records[1]["description"]
        # Both images are in flight at once: their requests may reach the server in any order.
        sent = [r.image_urls for r in chat_requests(emulator)]
        assert len(sent) == 2
        assert [url] in sent
        assert all(urls[0].startswith("data:image/jpeg;base64,") for urls in sent if urls != [url])


def _point_at_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> str:
    """Aim the CLI at a loopback port nothing listens on (an emulator's, after it stopped)."""
    with FlexAIEmulator() as emu:
        base_url = emu.base_url
    monkeypatch.setenv("FLEXAI_API_BASE", base_url)
    monkeypatch.setenv("FLEXAI_API_KEY", "fake-test-key")
    return base_url


WRONG_KEY_LINE = (
    "flexai-vision: FlexAI error 401 invalid_api_key: Invalid API key. Pass a valid FlexAI key "
    "as 'Authorization: Bearer <key>'. Check the FLEXAI_API_KEY environment variable or the "
    "api_key argument.\n"
)
NO_CREDIT_LINE = (
    "flexai-vision: FlexAI error 402: Insufficient credit: your FlexAI balance is exhausted. "
    "Top up to continue. This request was not retried.\n"
)
RATE_LIMITED_LINE = (
    "flexai-vision: FlexAI error 429 rate_limit_exceeded: Injected fault: the emulator was told "
    "to fail this request with 429. Rate limited after retries; lower the request rate or "
    "raise max_retries.\n"
)


class TestApiErrors:
    @pytest.mark.parametrize("argv", [["describe", str(SUNSET)], ["describe", str(IMAGES)]])
    def test_wrong_key(
        self,
        argv: list[str],
        emulator: FlexAIEmulator,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("FLEXAI_API_KEY", "fake-wrong-key")
        code, out, err = run(argv, capsys)
        assert (code, out, err) == (3, "", WRONG_KEY_LINE)
        assert "fake-wrong-key" not in err

    @pytest.mark.parametrize("argv", [["describe", str(SUNSET)], ["describe", str(IMAGES)]])
    def test_credit_exhausted(
        self, argv: list[str], emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.faults.credit_budget = 0.0
        assert run(argv, capsys) == (3, "", NO_CREDIT_LINE)

    def test_rate_limited_after_retries(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # ChatFlexAI retries a 429 three times (four attempts), honouring Retry-After.
        emulator.faults.fail_next(4, 429, retry_after=0)
        assert run(["describe", str(SUNSET)], capsys) == (3, "", RATE_LIMITED_LINE)
        assert emulator.faults.pending_failures == 0

    def test_unknown_model(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        line = (
            "flexai-vision: FlexAI error 400 model_not_found: The model 'no-such-model' does not "
            "exist. GET /v1/models lists the available models. Pass a model id listed by "
            "`flexai-vision models` (the bare id, not the Hugging Face id).\n"
        )
        assert run(["describe", str(SUNSET), "--model", "no-such-model"], capsys) == (3, "", line)

    def test_unreachable(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        base_url = _point_at_a_closed_port(monkeypatch)
        code, out, err = run(["describe", str(SUNSET)], capsys)
        assert (code, out) == (3, "")
        assert err.startswith(f"flexai-vision: cannot reach {base_url}: ")
        assert err.count("\n") == 1


class TestModels:
    def test_table(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(["models", "--emulator"], capsys)
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0].split() == [
            "MODEL", "CATEGORY", "VISION", "CONTEXT", "IN", "$/MTOK", "OUT", "$/MTOK", "HEALTH"
        ]  # fmt: skip
        assert sorted(line.split()[0] for line in lines[1:]) == sorted(PRICES)
        phi = next(line for line in lines if line.startswith("phi-4-multimodal-instruct "))
        assert phi.split() == [
            "phi-4-multimodal-instruct", "vision", "yes", "131,072", "0.05", "0.1", "healthy"
        ]  # fmt: skip

    def test_vision_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run(["models", "--emulator", "--vision", "--json"], capsys)
        assert code == 0
        models = json.loads(out)
        expected = sorted(m.id for m in DEFAULT_CATALOG if m.vision)
        assert sorted(m["id"] for m in models) == expected
        assert all(m["vision"] for m in models)

    def test_public_catalog_needs_no_key(
        self,
        emulator: FlexAIEmulator,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.delenv("FLEXAI_API_KEY")
        code, out, _ = run(["models", "--vision"], capsys)
        assert code == 0
        assert [r.path for r in emulator.requests] == ["/api/models"]
        assert "phi-4-multimodal-instruct" in out


class TestConsoleScript:
    """The installed `flexai-vision` script, as `make demo` runs it."""

    def script(self) -> str:
        path = Path(sys.executable).with_name("flexai-vision")
        if not path.exists():
            pytest.skip("the console script is not installed (pip install -e .)")
        return str(path)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEXAI_", "OPENAI_"))}
        env.update(extra)
        return env

    def test_demo(self) -> None:
        done = subprocess.run(
            [self.script(), "describe", "examples/images", "--emulator"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        for name, answer in ANSWERS.items():
            assert f"examples/images/{name}\n" in done.stdout
            assert f"  Image 1: {answer}.\n" in done.stdout
        match = check_usage(done.stderr.rstrip("\n"))
        assert match["counts"] == "4 described, 0 from cache, 0 skipped, 0 failed"

    def test_no_key(self) -> None:
        done = subprocess.run(
            [self.script(), "describe", "examples/images/sunset.jpg"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert (done.returncode, done.stdout) == (3, "")
        assert done.stderr == (
            "flexai-vision: no API key: set FLEXAI_API_KEY (export FLEXAI_API_KEY=<your key>) "
            "or add --emulator to run offline against the bundled emulator\n"
        )


class TestBulkRun:
    """Many images: input order, resume of URLs, one retry layer, and runs that must stop."""

    def test_records_follow_the_command_line_order(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        urls = ["https://example.com/a.png", "https://example.com/b.png"]
        argv = ["describe", urls[0], str(IMAGES / "sky.webp"), urls[1], str(IMAGES / "leaf.png")]
        code, out, _ = run([*argv, "--json"], capsys)
        assert code == 0
        sources = [json.loads(line)["source"] for line in out.splitlines()]
        assert sources == [urls[0], str(IMAGES / "sky.webp"), urls[1], str(IMAGES / "leaf.png")]

    def test_resume_does_not_pay_again_for_urls(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "u.jsonl"
        argv = ["describe", "https://example.com/a.png", str(SUNSET), "--out", str(out_file)]
        assert run([*argv, "--resume"], capsys)[0] == 0
        assert len(chat_requests(emulator)) == 2
        assert run([*argv, "--resume"], capsys)[0] == 0
        assert len(chat_requests(emulator)) == 2
        rows = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert [r["status"] for r in rows] == ["cached", "cached"]

    def test_a_damaged_resume_cache_is_one_line_and_exit_2(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "u.jsonl"
        cache = tmp_path / "u.jsonl.cache.sqlite"
        cache.write_bytes(b"not a database")
        code, out, err = run(["describe", str(IMAGES), "--out", str(out_file), "--resume"], capsys)
        assert (code, out) == (2, "")
        assert err == (
            f"flexai-vision: describe cache {cache}: cannot open it: file is not a database; "
            "it is not a describe cache (or is damaged, or from another version): give another "
            "cache path, or delete the file to start a fresh cache (its stored answers are lost)\n"
        )
        assert chat_requests(emulator) == []
        assert cache.read_bytes() == b"not a database"  # nothing lost

    def test_persistent_429_stops_with_one_line_and_no_retry_multiplication(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # The describer is the only retry layer: 1 + 5 attempts for the first image, then the
        # run stops (before the fix: 4 SDK attempts x 6 describer attempts per image).
        emulator.faults.fail_next(1000, 429, retry_after=0)
        code, out, err = run(["describe", str(IMAGES), "--concurrency", "1", "--json"], capsys)
        assert (code, out) == (3, "")
        assert err.splitlines()[-1] + "\n" == RATE_LIMITED_LINE
        assert len(chat_requests(emulator)) == 6

    def test_unreachable_server_stops_the_bulk_run(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr("langchain_flexai.describe._retry._FIRST_BACKOFF", 0.001)
        base_url = _point_at_a_closed_port(monkeypatch)
        code, out, err = run(["describe", str(IMAGES)], capsys)
        assert (code, out) == (3, "")
        assert err.startswith(f"flexai-vision: cannot reach {base_url}: ")
        assert err.count("\n") == 1

    def test_a_429_pause_is_reported_with_the_program_name(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        emulator.faults.fail_next(1, 429, retry_after=0.01)
        code, _, err = run(["describe", str(SUNSET), str(IMAGES / "leaf.png"), "--json"], capsys)
        assert code == 0
        assert err.splitlines()[0] == (
            "flexai-vision: rate limited by the server; pausing requests for 10 ms"
        )

    def test_a_text_only_model_is_refused_before_any_request(
        self, emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        vision = ", ".join(sorted((m.id for m in DEFAULT_CATALOG if m.vision), key=str.casefold))
        code, out, err = run(["describe", str(IMAGES), "--model", "gpt-oss-120b"], capsys)
        assert (code, out) == (2, "")
        assert err == f"flexai-vision: gpt-oss-120b does not read images; vision models: {vision}\n"
        assert chat_requests(emulator) == []

    def test_an_empty_folder_says_so_and_exits_1(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "notes.txt").write_text("not an image")
        code, out, err = run(["describe", str(tmp_path), "--json"], capsys)
        assert (code, out) == (1, "")
        lines = err.splitlines()
        assert lines[0] == f"flexai-vision: no image files under {tmp_path}"
        assert lines[1].startswith("flexai-vision: 0 described, 0 from cache, 0 skipped, 0 failed")


class TestResumeKey:
    """The resume cache answers only for the server and settings that made the answer."""

    def test_emulator_captions_never_come_back_in_a_live_run(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "captions.jsonl"
        argv = ["describe", str(IMAGES), "--out", str(out_file), "--resume"]
        monkeypatch.delenv("FLEXAI_API_KEY", raising=False)
        assert run([*argv, "--emulator"], capsys)[0] == 0
        # A second --emulator run gets another port: still the emulator, still cached.
        assert run([*argv, "--emulator"], capsys)[0] == 0
        rows = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert [r["status"] for r in rows] == ["cached"] * 4
        # "Live": another server (a key the emulator's default is not), same --out and --resume.
        with FlexAIEmulator(api_key="sk-live-key") as live:
            monkeypatch.setenv("FLEXAI_API_BASE", live.base_url)
            monkeypatch.setenv("FLEXAI_API_KEY", live.api_key)
            code, _, err = run(argv, capsys)
            assert code == 0, err
            assert len(chat_requests(live)) == 4  # every image asked, none "cached"
        rows = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert [r["status"] for r in rows] == ["described"] * 4

    def test_another_model_or_prompt_asks_again(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["describe", str(SUNSET), "--out", str(tmp_path / "c.jsonl"), "--resume"]
        for extra, sent in (
            ([], 1),
            ([], 1),
            (["--model", "gemma-4-31b-it"], 2),
            (["--prompt", "Colours?"], 3),
        ):
            assert run([*argv, *extra], capsys)[0] == 0
            assert len(chat_requests(emulator)) == sent

    def test_a_cache_of_the_old_schema_is_refused_in_one_line(
        self, emulator: FlexAIEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "u.jsonl"
        cache = tmp_path / "u.jsonl.cache.sqlite"
        conn = sqlite3.connect(cache)
        conn.execute("CREATE TABLE descriptions (image_sha256 TEXT)")
        conn.execute("PRAGMA user_version = 1")
        conn.close()
        out_file.write_text('{"status": "described"}\n')
        code, out, err = run(["describe", str(IMAGES), "--out", str(out_file), "--resume"], capsys)
        assert (code, out) == (2, "")
        assert err == (
            f"flexai-vision: describe cache {cache}: it was written by an older langchain-flexai "
            "(cache schema 1), whose answers are keyed by image, model and prompt only and may "
            "come from another server (such as the emulator) or other settings, so they are not "
            "reused; delete the file to start a fresh cache (its stored answers are lost), or "
            "give another cache path\n"
        )
        assert chat_requests(emulator) == []
        assert out_file.read_text() == '{"status": "described"}\n'  # the last run's records stay


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX byte file names")
class TestNonUtf8Names:
    """A file name that is not UTF-8 is written escaped and the run goes on (and resumes)."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        folder = tmp_path / "photos"
        folder.mkdir()
        raw = os.fsencode(folder)
        # Three different pictures: equal bytes would share one cache key, and which of them is
        # then answered from the cache written by another depends on the order answers arrive.
        pictures = (IMAGES / "sunset.jpg", IMAGES / "leaf.png", IMAGES / "note-rotated.jpg")
        for name, picture in zip((b"a.jpg", b"caf\xe9.jpg", b"z.jpg"), pictures, strict=True):
            Path(os.fsdecode(raw + b"/" + name)).write_bytes(picture.read_bytes())
        Path(os.fsdecode(raw + b"/bad\xff.jpg")).write_bytes(b"\xff\xd8 not a jpeg")
        return folder

    def names(self, folder: Path) -> list[str]:
        return [f"{folder}/{n}" for n in ("a.jpg", "bad\\xff.jpg", "caf\\xe9.jpg", "z.jpg")]

    def test_json_lines_and_resume(
        self, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out_file = tmp_path / "c.jsonl"
        argv = ["describe", str(folder), "--emulator", "--out", str(out_file), "--resume"]
        code, out, err = run(argv, capsys)
        assert (code, out) == (1, "")  # the corrupt file; every other one described
        rows = [json.loads(line) for line in out_file.read_bytes().decode("utf-8").splitlines()]
        assert [r["source"] for r in rows] == self.names(folder)
        assert [r["status"] for r in rows] == ["described", "skipped", "described", "described"]
        lines = err.splitlines()
        assert lines[0].startswith(f"flexai-vision: skipped {folder}/bad\\xff.jpg: "), lines
        code, _, _ = run(argv, capsys)  # --resume goes past the same file
        assert code == 1
        rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
        assert [r["status"] for r in rows] == ["cached", "skipped", "cached", "cached"]

    @pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "text"])
    def test_stdout(
        self, folder: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _ = run(["describe", str(folder), "--emulator", *mode], capsys)
        assert code == 1
        out.encode("utf-8")
        if mode:
            assert [json.loads(line)["source"] for line in out.splitlines()] == self.names(folder)
        else:
            shown = [line for line in out.splitlines() if not line.startswith("  ")]
            assert shown == self.names(folder)

    def test_through_a_real_process(self, folder: Path, tmp_path: Path) -> None:
        # A real stdout (a pipe), as in `flexai-vision describe photos/ --json > captions.jsonl`.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "langchain_flexai",
                "describe",
                str(folder),
                "--emulator",
                "--json",
            ],
            capture_output=True,
            cwd=ROOT,
            check=False,
            timeout=120,
        )
        assert result.returncode == 1, result.stderr
        rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
        assert [r["source"] for r in rows] == self.names(folder)
        assert b"Traceback" not in result.stderr


def test_bulk_records_speak_to_shell_users(
    emulator: FlexAIEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["describe", str(SUNSET), "http://example.com/a.png", "file:///tmp/b.png", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["status"], r["reason"]) for r in records] == [
        ("described", None),
        ("skipped", "unsupported_url"),
        ("skipped", "unsupported_url"),
    ]
    assert records[1]["error"].startswith("FlexAI needs https:// image URLs")
    assert records[2]["error"] == "give the file's path (photos/cat.jpg), not a file:// URL"
    assert "pathlib" not in out + err
    assert len(chat_requests(emulator)) == 1  # nothing sent for the refused URLs


def test_a_folder_deeper_than_the_recursion_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    depth = max(1200, sys.getrecursionlimit() + 200)
    data = SUNSET.read_bytes()
    made = make_deep_tree(tmp_path, depth, {0: data, depth: data})
    try:
        code, out, err = run(["describe", str(tmp_path), "--emulator", "--json"], capsys)
    finally:
        remove_deep_tree(tmp_path, depth)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["source"], r["status"]) for r in records] == [
        (made[1], "described"),
        (made[0], "described"),
    ]


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_a_streamed_answer_cut_mid_way_is_one_line_and_exit_3(
    emulator: FlexAIEmulator, mode: Literal["abort", "close"], capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.faults.cut_stream_after = 3
    emulator.faults.cut_stream_mode = mode
    code, out, err = run(["describe", str(SUNSET)], capsys)
    assert code == 3
    assert out.endswith("\n")  # the truncated text, then a line break before the error
    assert err.startswith("flexai-vision: FlexAI's stream ")
    assert "the answer is truncated" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
