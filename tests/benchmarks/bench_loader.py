"""Loader and describe benchmarks: folder to Documents, memory, cores, describe throughput.

Image sets are generated once under ``.bench/loader`` (git-ignored). Large sets are made of hard
links to a small pool of distinct images, so they cost little disk while every file is still read
and prepared on its own (the file pipeline keeps no content cache).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pybase64
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from PIL import Image, ImageDraw, ImageOps

from langchain_flexai import (
    ChatFlexAI,
    FlexAIImageLoader,
    ImageDescriber,
    PreparedImage,
    prepare_image,
)
from langchain_flexai.chat_models import DEFAULT_MODEL
from tests.benchmarks._child import peak_mib, run_child
from tests.benchmarks._paired import PairedResult, paired

ROOT = Path(__file__).resolve().parents[2] / ".bench" / "loader"
_VERSION = "v2"
_NAIVE_SAMPLE = 10  # the naive route is timed on a 1-in-10 sample and scaled back up


# -- image sets ---------------------------------------------------------------------------


def _picture(size: tuple[int, int], seed: int) -> Image.Image:
    """A smooth photo-like picture (gradient and shapes): realistic to decode, small on disk."""
    rng = random.Random(seed)
    width, height = size
    base = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (base, base.rotate(90).resize(size), ImageOps.invert(base))).convert(
        "RGB"
    )
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(10, max(11, min(size) // 4))
        fill = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    return image


def _save(image: Image.Image, path: Path, fmt: str, orientation: int | None = None) -> None:
    kwargs: dict[str, object] = {}
    if fmt == "JPEG":
        kwargs["quality"] = 80
        if orientation:
            exif = image.getexif()
            exif[0x0112] = orientation
            kwargs["exif"] = exif
    if fmt == "GIF":
        image = image.convert("P")
    image.save(path, format=fmt, **kwargs)


def _mixed_pool(pool: Path) -> list[Path]:
    """60 distinct compliant images (JPEG, PNG, WebP, GIF; 480-1600 px) + 3 that need work."""
    pool.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    # Roughly what a photo folder holds: mostly JPEG, some PNG (screenshots), a little WebP/GIF.
    kinds = (
        [("JPEG", ".jpg")] * 14
        + [("PNG", ".png")] * 3
        + [("WEBP", ".webp")] * 2
        + [("GIF", ".gif")]
    )
    files = []
    for i in range(60):
        fmt, suffix = kinds[i % len(kinds)]
        width = rng.randrange(480, 1600)
        size = (width, width * 3 // 4)
        path = pool / f"c{i:02d}{suffix}"
        _save(_picture(size, i), path, fmt)
        files.append(path)
    needs_work = [
        (_picture((2600, 1950), 100), "JPEG", None),  # resized
        (_picture((1200, 900), 101), "JPEG", 6),  # transposed
        (_picture((900, 600), 102), "BMP", None),  # converted
    ]
    for j, (image, fmt, orientation) in enumerate(needs_work):
        path = pool / f"w{j}.{fmt.lower()}"
        _save(image, path, fmt, orientation)
        files.append(path)
    return files


def _link_folder(folder: Path, pool: list[Path], count: int, work_every: int | None) -> None:
    """``count`` hard links cycling through the pool (1 in ``work_every`` needs work)."""
    folder.mkdir(parents=True, exist_ok=True)
    compliant = [p for p in pool if p.name.startswith("c")]
    work = [p for p in pool if p.name.startswith("w")]
    for i in range(count):
        if work_every and i % work_every == work_every - 1:
            source = work[i % len(work)]
        else:
            source = compliant[i % len(compliant)]
        target = folder / f"d{i // 500:02d}" / f"img_{i:05d}{source.suffix}"
        target.parent.mkdir(exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # a file system without hard links: copy
            shutil.copyfile(source, target)


def _small_pool(pool: Path) -> list[Path]:
    pool.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(20):
        side = 64 + i * 10
        path = pool / f"c{i:02d}.png"
        _save(_picture((side, side), 200 + i), path, "PNG")
        files.append(path)
    return files


def _ensure_sets() -> dict[str, Path]:
    sets = {
        "mixed": ROOT / "mixed3000",
        "mixed_work": ROOT / "mixed3000-work",
        "small1k": ROOT / "small1000",
        "small10k": ROOT / "small10000",
        "resize": ROOT / "resize32",
        "tiny": ROOT / "tiny480",
    }
    marker = ROOT / f".ready-{_VERSION}"
    if marker.exists():
        return sets
    shutil.rmtree(ROOT, ignore_errors=True)
    mixed_pool = _mixed_pool(ROOT / "pool-mixed")
    _link_folder(sets["mixed"], mixed_pool, 3000, work_every=None)
    _link_folder(sets["mixed_work"], mixed_pool, 3000, work_every=100)
    small_pool = _small_pool(ROOT / "pool-small")
    _link_folder(sets["small1k"], small_pool, 1000, None)
    _link_folder(sets["small10k"], small_pool, 10_000, None)
    resize_pool = ROOT / "pool-resize"
    resize_pool.mkdir()
    big = []
    for i in range(4):
        path = resize_pool / f"c{i}.jpg"
        _save(_picture((3000, 2000), 300 + i), path, "JPEG")
        big.append(path)
    _link_folder(sets["resize"], big, 32, None)
    tiny_pool = ROOT / "pool-tiny"
    tiny_pool.mkdir()
    tiny = []
    for i in range(16):
        path = tiny_pool / f"c{i:02d}.png"
        _save(_picture((64, 64), 400 + i), path, "PNG")
        tiny.append(path)
    _link_folder(sets["tiny"], tiny, 480, None)
    marker.touch()
    return sets


# -- scenario 1: a folder to Documents --------------------------------------------------------


def _naive_documents(folder: Path, every: int) -> int:
    """The naive route: decode, transpose, re-encode as JPEG, stdlib base64, for every file."""
    count = 0
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    # A fixed random sample keeps the folder's mix (a stride could miss or over-pick the files
    # that need work, which sit at regular positions).
    sample = sorted(random.Random(1).sample(paths, len(paths) // every))
    for path in sample:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
            buffer = io.BytesIO()
            upright.save(buffer, format="JPEG", quality=85)
        data = base64.b64encode(buffer.getvalue()).decode()
        Document(
            page_content=path.name,
            metadata={"source": str(path), "image_url": f"data:image/jpeg;base64,{data}"},
        )
        count += 1
    return count


def _floor_documents(folder: Path) -> int:
    """The floor for compliant files: walk, read, sha256, pybase64, one Document each."""
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        mime = _FLOOR_MIME[path.suffix.lower()]
        Document(
            page_content=path.name,
            metadata={
                "source": str(path),
                "sha256": digest,
                "image_url": f"data:{mime};base64," + pybase64.b64encode_as_string(data),
            },
        )
        count += 1
    return count


_FLOOR_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def _folder_vs_floor(folder: Path) -> PairedResult:
    return paired(
        "folder of 3,000 compliant mixed images → Documents, vs read + sha256 + pybase64",
        lambda: _ours_documents(folder),
        lambda: _floor_documents(folder),
        rounds=3,
        target="≥ 0.67× (ours ≤ 1.5× of the floor)",
    )


def _ours_documents(folder: Path) -> int:
    return sum(1 for _ in FlexAIImageLoader(folder).lazy_load())


def _folder_to_documents(folder: Path, label: str) -> PairedResult:
    result = paired(
        f"folder of 3,000 mixed images → Documents ({label})",
        lambda: _ours_documents(folder),
        lambda: _naive_documents(folder, _NAIVE_SAMPLE),
        rounds=3,
        target="≥ 20×",
    )
    # The baseline processed a tenth of the files: scale its time to the whole folder.
    return PairedResult(
        scenario=result.scenario + " (naive timed on a 10% sample, ×10)",
        ours_s=result.ours_s,
        baseline_s=result.baseline_s * _NAIVE_SAMPLE,
        ratio=result.ratio * _NAIVE_SAMPLE,
        rounds=result.rounds,
        target=result.target,
    )


# -- scenario 2: memory flat in the number of files ------------------------------------------

_RSS_PROBE = """
import sys
from langchain_flexai import FlexAIImageLoader
RESULT = sum(1 for _ in FlexAIImageLoader(sys.argv[1]).lazy_load())
"""


def _peak_rss_mib(folder: Path) -> tuple[int, float]:
    # A clean child's own peak (VmHWM), not ru_maxrss, which carries the parent's across exec.
    figures = run_child(_RSS_PROBE, str(folder))
    return int(figures["result"]), peak_mib(figures)  # type: ignore[call-overload]


def _memory_row(small1k: Path, small10k: Path) -> str:
    n1, rss1 = _peak_rss_mib(small1k)
    n10, rss10 = _peak_rss_mib(small10k)
    growth = (rss10 - rss1) / rss1 * 100
    met = "met" if abs(growth) <= 10 else "NOT met"
    return (
        f"| peak RSS, lazy_load of {n10:,} vs {n1:,} images (64–254 px PNG, clean children) "
        f"| {rss10:.1f} MiB | {rss1:.1f} MiB | {growth:+.1f}% | within 10%: {met} |"
    )


# -- scenario 3: resizing uses both cores -----------------------------------------------------


def _resize_cores(folder: Path) -> PairedResult:
    return paired(
        "32 JPEGs 3000×2000 needing a resize: workers=2 vs workers=1",
        lambda: sum(1 for _ in FlexAIImageLoader(folder, workers=2).lazy_load()),
        lambda: sum(1 for _ in FlexAIImageLoader(folder, workers=1).lazy_load()),
        rounds=5,
        target="≥ 1.6× on 2 cores",
    )


# -- scenario 4: describe throughput ---------------------------------------------------------

_LATENCY = 0.05
_CONCURRENCY = 16

# The emulator runs as a separate process, on the other core.


def _start_emulator(latency: float = _LATENCY) -> tuple[subprocess.Popen[str], str]:
    args = ["--port", "0", "--latency", str(latency), "--api-key", "fake-test-key"]
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_flexai.testing", *args, "--rpm", "100000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT.parents[1],
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        match = re.search(r"FLEXAI_API_BASE=(\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise RuntimeError("the emulator did not start")


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _LatencyOnlyModel(BaseChatModel):
    """Answers after ``latency`` seconds and costs (almost) no CPU: the scheduler alone."""

    latency: float = _LATENCY

    @property
    def _llm_type(self) -> str:
        return "latency-only"

    def _result(self) -> ChatResult:
        message = AIMessage(
            "ok", usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        time.sleep(self.latency)
        return self._result()

    async def _agenerate(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> ChatResult:
        await asyncio.sleep(self.latency)
        return self._result()


def _throughput_row(
    label: str, describer: ImageDescriber, images: list[PreparedImage], mode: str
) -> str:
    async def run_async() -> None:
        for _ in range(4):  # a warm-up round, then three timed ones, all on one event loop
            start = time.perf_counter()
            async for _record in describer.adescribe(images):
                pass
            times.append(time.perf_counter() - start)

    times: list[float] = []
    cpu = time.process_time()
    if mode == "async":
        asyncio.run(run_async())
    else:
        for _ in range(4):
            start = time.perf_counter()
            for _record in describer.describe(images):
                pass
            times.append(time.perf_counter() - start)
    cpu_per_request = (time.process_time() - cpu) / (4 * len(images))
    median = sorted(times[1:])[1]
    ideal = len(images) * _LATENCY / _CONCURRENCY
    failed = describer.report.failed
    return (
        f"| describe {len(images)} images, {_LATENCY * 1000:.0f} ms latency, "
        f"max_concurrency={_CONCURRENCY}: {label}, {mode} | {median:.2f} s "
        f"({len(images) / median:.0f} req/s) | ideal {ideal:.2f} s "
        f"({_CONCURRENCY / _LATENCY:.0f} req/s) | {ideal / median * 100:.0f}% of ideal; "
        f"client CPU {cpu_per_request * 1000:.1f} ms/request"
        f"{f', {failed} failed' if failed else ''} | ≥ 85% |"
    )


def _aiohttp_row(base_url: str, images: list[PreparedImage]) -> str:
    """ChatFlexAI with FLEXAI_ASYNC_TRANSPORT=aiohttp (its opt-in pool), same emulator."""
    label = "ChatFlexAI (aiohttp transport) → emulator"
    try:
        import aiohttp  # noqa: F401, PLC0415 - only this row needs it
    except ImportError:
        return f"| describe: {label}, async | skipped: aiohttp is not installed | | | ≥ 85% |"
    saved = os.environ.get("FLEXAI_ASYNC_TRANSPORT")
    os.environ["FLEXAI_ASYNC_TRANSPORT"] = "aiohttp"  # read when the model builds its clients
    try:
        model = ChatFlexAI(base_url=base_url, api_key="fake-test-key", max_retries=0)
    finally:
        if saved is None:
            del os.environ["FLEXAI_ASYNC_TRANSPORT"]
        else:
            os.environ["FLEXAI_ASYNC_TRANSPORT"] = saved
    describer = ImageDescriber(model, "Describe.", max_concurrency=_CONCURRENCY)
    return _throughput_row(label, describer, images, "async")


def _sdk_row(base_url: str, images: list[PreparedImage]) -> str:
    """The raw openai SDK against the same emulator: what any client built on it can reach."""
    import openai  # noqa: PLC0415 - only this row needs it

    async def run_async() -> list[float]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="fake-test-key", max_retries=0)
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(url: str) -> None:
            async with gate:
                await client.chat.completions.create(
                    model=DEFAULT_MODEL,
                    messages=[
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "Describe."},
                                {"type": "image_url", "image_url": {"url": url}},
                            ],
                        }
                    ],
                )

        times: list[float] = []
        for _ in range(4):  # a warm-up round, then three timed ones
            start = time.perf_counter()
            await asyncio.gather(*(one(image.url) for image in images))
            times.append(time.perf_counter() - start)
        await client.close()
        return times

    cpu = time.process_time()
    times = asyncio.run(run_async())
    cpu_per_request = (time.process_time() - cpu) / (4 * len(images))
    median = sorted(times[1:])[1]
    ideal = len(images) * _LATENCY / _CONCURRENCY
    return (
        f"| ↳ the same requests from the raw openai SDK (AsyncOpenAI, httpx, gather under a "
        f"semaphore of {_CONCURRENCY}) → emulator | {median:.2f} s "
        f"({len(images) / median:.0f} req/s) | ideal {ideal:.2f} s | "
        f"{ideal / median * 100:.0f}% of ideal; client CPU {cpu_per_request * 1000:.1f} "
        "ms/request | informational: the floor of a client on the SDK |"
    )


def _idle_row(images: list[PreparedImage]) -> str:
    """The same requests one at a time, answered at once and after 50 ms: what idling costs.

    On this machine a process that sleeps between requests spends more CPU on the same work
    when it wakes (cold caches, a virtual CPU that idled); the describe rows above pay that
    between answers, the mock-transport rows do not.
    """
    cpu: dict[float, float] = {}
    for latency in (0.0, _LATENCY):
        process, base_url = _start_emulator(latency)
        try:
            model = ChatFlexAI(base_url=base_url, api_key="fake-test-key", max_retries=0)
            describer = ImageDescriber(model, "Describe.", max_concurrency=1)
            messages = [describer.messages_for(image) for image in images[:120]]
            for message in messages[:10]:  # warm-up: connection, caches
                model.invoke(message)
            start = time.process_time()
            for message in messages:
                model.invoke(message)
            cpu[latency] = (time.process_time() - start) / len(messages)
        finally:
            process.terminate()
            process.wait(timeout=10)
    return (
        "| ↳ client CPU per request, one request at a time (sync `invoke`, 120 images): "
        f"answered after {_LATENCY * 1000:.0f} ms vs at once | {cpu[_LATENCY] * 1000:.2f} ms | "
        f"{cpu[0.0] * 1000:.2f} ms | {cpu[_LATENCY] / cpu[0.0]:.2f}× the CPU | informational: "
        "what waiting between requests adds to the same work on this machine |"
    )


def _describe_rows(folder: Path) -> list[str]:
    images = [prepare_image(p) for p in sorted(folder.rglob("*.png"))]
    scheduler = ImageDescriber(_LatencyOnlyModel(), "Describe.", max_concurrency=_CONCURRENCY)
    rows = [
        _throughput_row("latency-only model", scheduler, images, mode)
        for mode in ("async", "threads")
    ]
    process, base_url = _start_emulator()
    try:
        model = ChatFlexAI(base_url=base_url, api_key="fake-test-key", max_retries=0)
        describer = ImageDescriber(model, "Describe.", max_concurrency=_CONCURRENCY)
        server_cpu = _process_cpu(process.pid)
        rows.extend(
            _throughput_row("ChatFlexAI → emulator", describer, images, mode)
            for mode in ("async", "threads")
        )
        per_request = (_process_cpu(process.pid) - server_cpu) / (2 * 4 * len(images))
        rows.append(
            f"| the emulator's CPU per small-image request (its own process, the runs above) "
            f"| {per_request * 1000:.2f} ms | | | ≤ 1.5 ms |"
        )
        rows.append(_sdk_row(base_url, images))
        rows.append(_aiohttp_row(base_url, images))
    finally:
        process.terminate()
        process.wait(timeout=10)
    rows.append(_idle_row(images))
    return rows


def run() -> list[PairedResult | str]:
    """All loader scenarios (about a minute on 2 cores, plus a one-time image generation)."""
    sets = _ensure_sets()
    results: list[PairedResult | str] = [
        _folder_to_documents(sets["mixed"], "JPEG/PNG/WebP/GIF 480–1600 px, all compliant"),
        _folder_to_documents(sets["mixed_work"], "1 in 100 needs a resize, rotation or conversion"),
        _folder_vs_floor(sets["mixed"]),
    ]
    results.append(_memory_row(sets["small1k"], sets["small10k"]))
    results.append(_resize_cores(sets["resize"]))
    results.extend(_describe_rows(sets["tiny"]))
    return results
