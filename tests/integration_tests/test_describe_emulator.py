"""Describe mode against the FlexAI emulator on loopback: answers, resume after a kill, RPM.

The emulator reports what it received (format, size, dominant colour per image), so these tests
check the bytes that reached the server, not just that no exception was raised.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import openai
import pybase64
import pytest

from langchain_flexai import FlexAIImageLoader, ImageDescriber, RequestRateLimiter, prepare_image
from langchain_flexai._transport._errors import FlexAIStreamInterruptedError
from langchain_flexai.describe import _retry as _describe_retry
from langchain_flexai.describe._run import DescribeRecord
from langchain_flexai.testing import FlexAIEmulator
from tests.unit_tests.loader_samples import corrupt_png, save_image

PROMPT = "Describe {this} image."


def _sent_images(emulator: FlexAIEmulator) -> Counter[str]:
    """How many times each image (by SHA-256 of its bytes) reached the emulator."""
    counts: Counter[str] = Counter()
    for request in emulator.requests:
        if request.path != "/v1/chat/completions":
            continue
        for url in request.image_urls:
            data = pybase64.b64decode(url.split(",", 1)[1])
            counts[hashlib.sha256(data).hexdigest()] += 1
    return counts


def _folder(root: Path, count: int) -> list[Path]:
    return [save_image(root / f"{i:03d}.png", (16 + i, 16), fmt="PNG") for i in range(count)]


def _cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=0.1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_phone_folder_is_described_upright_and_right_sized(tmp_path: Path) -> None:
    save_image(tmp_path / "IMG_1.JPG", (4000, 3000), (240, 10, 10))
    save_image(tmp_path / "IMG_2.jpg", (300, 200), (10, 10, 240), orientation=6)
    corrupt_png(tmp_path / "IMG_3.png")
    with FlexAIEmulator() as emulator:
        loader = FlexAIImageLoader(
            tmp_path, model=emulator.chat_model(), prompt=PROMPT, on_error="skip"
        )
        docs = loader.load()
        requests = emulator.requests
    assert [d.page_content.splitlines()[-1] for d in docs] == [
        "Image 1: JPEG 2000x1500, red.",  # 4000x3000 at the 1/2 DCT scale
        "Image 1: JPEG 200x300, blue.",
    ]
    # Requests run concurrently, so they may arrive in either order: compare as sets.
    assert [r.body["messages"][0]["content"][0] for r in requests] == [
        {"type": "text", "text": PROMPT}
    ] * 2
    sent = {r.body["messages"][0]["content"][1]["image_url"]["url"] for r in requests}
    assert sent == {d.metadata["image_url"] for d in docs}
    assert [(Path(s.source or "").name, s.reason) for s in loader.skipped] == [
        ("IMG_3.png", "corrupt")
    ]
    report = loader.report
    assert report is not None
    assert (report.described, report.skipped, report.requests) == (2, 1, 2)
    assert report.usage.total_tokens > 0
    assert report.usage.total_tokens == report.usage.input_tokens + report.usage.output_tokens


async def test_async_describe_matches_sync(tmp_path: Path) -> None:
    _folder(tmp_path, 10)
    with FlexAIEmulator(latency=0.02) as emulator:
        model = emulator.chat_model()
        sync_docs = FlexAIImageLoader(tmp_path, model=model, max_concurrency=4).load()
        async_docs = await FlexAIImageLoader(tmp_path, model=model, max_concurrency=4).aload()
        assert len(emulator.requests) == 20
    assert sync_docs == async_docs


_RUNNER = """
import signal, sys
# A shell that starts commands in the background hands them SIGINT ignored: Ctrl+C as a user
# at a terminal would send it is what this test is about.
signal.signal(signal.SIGINT, signal.default_int_handler)
from langchain_flexai import ChatFlexAI, FlexAIImageLoader
folder, cache, base_url, api_key = sys.argv[1:5]
model = ChatFlexAI(base_url=base_url, api_key=api_key, max_retries=0)
loader = FlexAIImageLoader(folder, model=model, cache_path=cache, max_concurrency=2)
for _ in loader.lazy_load():
    pass
"""


def _start_runner(folder: Path, cache: Path, emulator: FlexAIEmulator) -> subprocess.Popen[bytes]:
    args = [str(folder), str(cache), emulator.base_url, emulator.api_key]
    return subprocess.Popen(
        [sys.executable, "-c", _RUNNER, *args],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _interrupt_after(process: subprocess.Popen[bytes], cache: Path, rows: int, sig: int) -> None:
    deadline = time.monotonic() + 60
    while _cached_rows(cache) < rows:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run never described enough images"
        time.sleep(0.02)
    process.send_signal(sig)
    process.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_resume_after_the_process_is_killed(tmp_path: Path, sig: int) -> None:
    folder = tmp_path / "images"
    paths = _folder(folder, 24)
    shas = {prepare_image(p).sha256 for p in paths}
    cache = tmp_path / "describe.sqlite"
    # 0.4 s a request, two at a time: the 20 images left take 4 s, ample time for the signal
    # to land mid-run even when this process polls the cache slowly on a busy machine.
    with FlexAIEmulator(latency=0.4) as emulator:
        _interrupt_after(_start_runner(folder, cache, emulator), cache, rows=4, sig=sig)
        first = _sent_images(emulator)
        stored = _cached_rows(cache)
        assert 4 <= stored < 24

        loader = FlexAIImageLoader(folder, model=emulator.chat_model(), cache_path=cache)
        docs = loader.load()
        total = _sent_images(emulator)
    assert len(docs) == 24
    assert set(total) == shas
    report = loader.report
    assert report is not None
    assert report.cached == stored
    assert report.described == 24 - stored
    # Every answer stored before the interruption was reused: the second run asked only for
    # the others. A graceful stop (SIGINT) lets the requests in flight finish and be stored,
    # so nothing at all is paid twice; SIGKILL can only lose the answers in flight
    # (at most max_concurrency=2 of them).
    duplicates = sum(count - 1 for count in total.values())
    if sig == signal.SIGINT:
        assert duplicates == 0
        assert sum(first.values()) == stored
    else:
        assert duplicates == sum(first.values()) - stored
        assert duplicates <= 2


def test_rpm_limit_is_never_exceeded(tmp_path: Path) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 12)]
    # The emulator allows 4 requests per 1-second window and answers 429 beyond that; with
    # retries off, any excess would show up as a failed record.
    with FlexAIEmulator(rpm_limit=4, rate_window=1.0) as emulator:
        # The margin absorbs the jitter between a start here and its arrival at the server.
        limiter = RequestRateLimiter(4, 1.0, margin_seconds=0.3)
        describer = ImageDescriber(
            emulator.chat_model(max_retries=0), max_concurrency=8, rate_limiter=limiter
        )
        records = list(describer.describe(images))
        sent = len(emulator.requests)
    assert [r.status for r in records] == ["described"] * 12
    assert sent == 12
    assert describer.report.requests == 12


def test_without_the_limiter_the_emulator_refuses(tmp_path: Path) -> None:
    # The control for the test above: the same run without a limiter does exceed the limit,
    # and a 429 with no retry left stops the run (every other image would get one too).
    # "Without": an explicit limit far above the key's, which wins over the server's headers.
    images = [prepare_image(p) for p in _folder(tmp_path, 12)]
    with FlexAIEmulator(rpm_limit=4, rate_window=30.0) as emulator:
        describer = ImageDescriber(
            emulator.chat_model(), max_concurrency=8, max_retries=0, requests_per_minute=1000
        )
        with pytest.raises(openai.RateLimitError, match="rate"):
            list(describer.describe(images))
        sent = len(emulator.requests)
    assert sent > 4
    assert describer.report.requests == sent


class _CountingLimiter(RequestRateLimiter):
    """Records when each request start was allowed."""

    def __init__(self, requests: int, per_seconds: float) -> None:
        super().__init__(requests, per_seconds, margin_seconds=0.05)
        self.starts: list[float] = []

    def try_acquire(self) -> float:
        wait = super().try_acquire()
        if wait == 0.0:
            self.starts.append(time.monotonic())
        return wait


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_retries_pass_the_limiter_with_the_default_sdk_retries(tmp_path: Path, mode: str) -> None:
    # ChatFlexAI retries 429/5xx itself by default (max_retries=3); those retries would never
    # pass the describer's limiter. Every request the emulator receives must be one the limiter
    # allowed, and the report must count them all.
    images = [prepare_image(p) for p in _folder(tmp_path, 4)]
    with FlexAIEmulator() as emulator:
        emulator.faults.fail_next(4, 503, retry_after=0)
        emulator.faults.fail_next(2, 429, retry_after=0)
        limiter = _CountingLimiter(3, 0.2)
        describer = ImageDescriber(emulator.chat_model(), max_concurrency=4, rate_limiter=limiter)
        if mode == "sync":
            records = list(describer.describe(images))
        else:

            async def collect() -> list[DescribeRecord]:
                return [r async for r in describer.adescribe(images)]

            records = asyncio.run(collect())
        sent = len([r for r in emulator.requests if r.path == "/v1/chat/completions"])
    assert [r.status for r in records] == ["described"] * 4
    assert sent == len(limiter.starts) == describer.report.requests == 10
    # No window of the limiter's length holds more than its 3 starts.
    for i, start in enumerate(limiter.starts):
        assert sum(1 for t in limiter.starts[i:] if t - start < 0.2) <= 3


def test_a_429_pauses_the_run_for_retry_after(tmp_path: Path) -> None:
    images = [prepare_image(p) for p in _folder(tmp_path, 3)]
    with FlexAIEmulator() as emulator:
        emulator.faults.fail_next(1, 429, retry_after=0.3)
        limiter = RequestRateLimiter.per_minute(100)
        describer = ImageDescriber(
            emulator.chat_model(max_retries=0), max_concurrency=1, rate_limiter=limiter
        )
        records = list(describer.describe(images))
        sent = len(emulator.requests)
    assert [r.status for r in records] == ["described"] * 3
    assert sent == 4
    assert describer.report.requests == 4


def test_records_are_jsonl_ready(tmp_path: Path) -> None:
    _folder(tmp_path, 2)
    corrupt_png(tmp_path / "zz.png")
    with FlexAIEmulator() as emulator:
        loader = FlexAIImageLoader(tmp_path, model=emulator.chat_model(), on_error="skip")
        lines = [json.dumps(r.to_json_dict()) for r in loader.lazy_describe()]
    rows = [json.loads(line) for line in lines]
    assert [(Path(r["source"]).name, r["status"]) for r in rows] == [
        ("000.png", "described"),
        ("001.png", "described"),
        ("zz.png", "skipped"),
    ]
    assert rows[0]["description"].endswith("Image 1: PNG 16x16, red.")
    assert rows[2]["reason"] == "corrupt"
    assert rows[2]["usage"] is None


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_a_stream_cut_mid_answer_is_retried_like_a_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: Literal["abort", "close"]
) -> None:
    (path,) = _folder(tmp_path, 1)
    with FlexAIEmulator(cut_stream_after=2, cut_stream_mode=mode) as emulator:

        def heal_then_retry_at_once(attempt: int) -> float:
            emulator.faults.cut_stream_after = None  # the next attempt streams completely
            return 0.0

        monkeypatch.setattr(_describe_retry, "_backoff", heal_then_retry_at_once)
        describer = ImageDescriber(emulator.chat_model(streaming=True), max_retries=2)
        (record,) = describer.describe([prepare_image(path)])
        chat = [r for r in emulator.requests if r.path == "/v1/chat/completions"]
    assert record.status == "described"
    assert record.description is not None
    assert record.description.startswith("Received 1 message with 1 text part and 1 image.")
    assert [r.body["stream"] for r in chat] == [True, True]
    assert describer.report.requests == 2


def test_a_stream_cut_every_time_fails_the_image_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_describe_retry, "_FIRST_BACKOFF", 0.0)
    paths = _folder(tmp_path, 2)
    with FlexAIEmulator(cut_stream_after=2) as emulator:
        model = emulator.chat_model(streaming=True)
        describer = ImageDescriber(model, max_retries=2, max_concurrency=1)
        records = list(describer.describe([prepare_image(p) for p in paths]))
        sent = len([r for r in emulator.requests if r.path == "/v1/chat/completions"])
    assert [r.status for r in records] == ["failed", "failed"]
    assert all(isinstance(r.exception, FlexAIStreamInterruptedError) for r in records)
    assert sent == 6  # 1 + 2 retries per image
