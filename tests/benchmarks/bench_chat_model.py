"""ChatFlexAI's own costs, each beside a baseline measured in the same run.

- construction: `ChatFlexAI(...)` vs `ChatOpenAI(...)` (target ≤ 2×);
- invoke, client CPU on a fake transport (httpx ``MockTransport``: no server in the figure), every
  round a fresh image (a new string, the content cache emptied), side by side with
  `ChatOpenAI.invoke` on the same transport: four ~2 MB JPEG data URLs (target ≤ 0.3×), one
  1.5 MB JPEG (≤ 0.4×), text only (≤ 1.0×);
- invoke with an already-compliant ~2 MB image against the emulator vs `ChatOpenAI.invoke` with the
  same payload (target ≤ 1.15×; mostly the emulator's time, informational beside the above);
- a text `ainvoke` in a fresh `asyncio.run` each time (a new event loop, so a new connection pool)
  vs the same call on one long-lived loop, both against the emulator (informational: what a new
  loop adds);
- async: 16 concurrent 12 MP images through `ainvoke`: the event loop's longest stall and the
  throughput, vs preparing the images inline on the loop (target: stall ≤ 100 ms, both cores).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from PIL import Image

from langchain_flexai import ChatFlexAI, clear_image_cache, prepare_messages
from langchain_flexai.testing import DEFAULT_API_KEY, FlexAIEmulator
from tests.benchmarks._paired import PairedResult, paired


def _noise_jpeg(width: int, height: int, quality: int, seed: int) -> bytes:
    rng = random.Random(seed)
    # Smooth gradient plus noise: photo-like enough for JPEG to behave as it does on photos.
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    image = Image.blend(image, noise, 0.5)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _message(jpeg: bytes) -> list[BaseMessage]:
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    return [
        HumanMessage(
            content=[
                {"type": "text", "text": "Describe."},
                {"type": "image_url", "image_url": {"url": url}},
            ]
        )
    ]


_REPLY = (
    b'{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
)


def _fake_http() -> Any:
    import openai  # noqa: PLC0415

    try:
        import httpx2 as sdk_httpx  # noqa: PLC0415
    except ImportError:  # pragma: no cover - older SDKs
        import httpx as sdk_httpx  # type: ignore[no-redef]  # noqa: PLC0415

    def answer(request: Any) -> Any:
        request.read()  # the body is built and read, as a transport would
        return sdk_httpx.Response(200, content=_REPLY, headers={"content-type": "application/json"})

    return openai.DefaultHttpxClient(transport=sdk_httpx.MockTransport(answer))


def _fresh_messages(jpegs: list[bytes]) -> list[BaseMessage]:
    """A new message whose data URLs are new string objects (no cached hash, no cached image)."""
    if not jpegs:
        return [HumanMessage("Say hello in French.")]
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": "Describe."}]
    for jpeg in jpegs:
        url = "".join(["data:image/jpeg;base64,", base64.b64encode(jpeg).decode()])
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return [HumanMessage(content=parts)]


def bench_invoke_client_cpu(label: str, jpegs: list[bytes], target: float) -> str:
    """Client CPU of one invoke, ours and ChatOpenAI's, on a fake transport, fresh images."""
    settings = {"api_key": "fake-bench-key", "base_url": "http://flexai.test/v1", "max_tokens": 16}
    ours = ChatFlexAI(**settings, http_client=_fake_http())
    theirs = ChatOpenAI(**settings, model="phi-4-multimodal-instruct", http_client=_fake_http())

    def cpu(model: Any, messages: list[BaseMessage]) -> float:
        clear_image_cache()
        start = time.process_time()
        model.invoke(messages)
        return time.process_time() - start

    for model in (ours, theirs, ours, theirs):  # warm both: imports, clients, lazy paths
        cpu(model, _fresh_messages(jpegs))
    import gc  # noqa: PLC0415

    gc.disable()
    rounds: list[tuple[float, float]] = []
    try:
        for i in range(21):
            mine, baseline = _fresh_messages(jpegs), _fresh_messages(jpegs)  # built untimed
            if i % 2:
                b = cpu(theirs, baseline)
                o = cpu(ours, mine)
            else:
                o = cpu(ours, mine)
                b = cpu(theirs, baseline)
            rounds.append((o, b))
    finally:
        gc.enable()
    ratio = statistics.median(o / b for o, b in rounds)
    met = "met" if ratio <= target else "NOT met"
    return (
        f"| invoke client CPU, {label}, fresh, fake transport, vs ChatOpenAI.invoke "
        f"| {statistics.median(o for o, _ in rounds) * 1e3:.2f} ms "
        f"| {statistics.median(b for _, b in rounds) * 1e3:.2f} ms | ours/ChatOpenAI = {ratio:.2f} "
        f"| ≤ {target}: {met} |"
    )


def bench_invoke_rows() -> list[str]:
    four = [_noise_jpeg(1700, 1300, 95, seed=10 + s) for s in range(4)]
    one = [_noise_jpeg(1500, 1100, 95, seed=20)]
    return [
        bench_invoke_client_cpu(
            f"four {statistics.mean(map(len, four)) / 1e6:.1f} MB JPEG data URLs", four, 0.3
        ),
        bench_invoke_client_cpu(f"one {len(one[0]) / 1e6:.1f} MB JPEG data URL", one, 0.4),
        bench_invoke_client_cpu("text only", [], 1.0),
    ]


def bench_construction() -> PairedResult:
    return paired(
        "construct ChatFlexAI vs ChatOpenAI (10 instances)",
        lambda: [ChatFlexAI(api_key="fake-bench-key") for _ in range(10)],
        lambda: [
            ChatOpenAI(api_key="fake-bench-key", base_url="https://tokens.flex.ai/v1")
            for _ in range(10)
        ],
        rounds=30,
        target="ratio ≥ 0.5 (ours ≤ 2× ChatOpenAI)",
    )


def bench_invoke_compliant(emu: FlexAIEmulator) -> PairedResult:
    jpeg = _noise_jpeg(1400, 1100, 95, seed=1)
    messages = _message(jpeg)
    ours = emu.chat_model(max_tokens=16)
    theirs = ChatOpenAI(
        model="phi-4-multimodal-instruct",
        api_key=emu.api_key,
        base_url=emu.base_url,
        max_tokens=16,
    )
    size_mb = len(jpeg) / 1e6
    return paired(
        f"invoke, compliant {size_mb:.1f} MB JPEG, vs ChatOpenAI.invoke (emulator)",
        lambda: ours.invoke(messages),
        lambda: theirs.invoke(messages),
        rounds=15,
        target="ratio ≥ 0.87 (ours ≤ 1.15×)",
    )


def bench_fresh_event_loop(emu: FlexAIEmulator) -> PairedResult:
    model = emu.chat_model(max_tokens=16)
    loop = asyncio.new_event_loop()
    try:
        return paired(
            "ainvoke (text) in a fresh asyncio.run each call vs on one running loop (emulator)",
            lambda: asyncio.run(model.ainvoke("Say hi.")),
            lambda: loop.run_until_complete(model.ainvoke("Say hi.")),
            rounds=21,
            target="informational: what a new event loop adds",
        )
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _max_stall(work: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, float]:
    """Run `work` while a ticker measures the loop's longest gap; return (stall, wall)."""
    stall = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stall = max(stall, now - last - 0.005)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await work()
    wall = time.perf_counter() - start
    done.set()
    await tick
    return stall, wall


@contextlib.contextmanager
def _emulator_process() -> Iterator[str]:
    """The emulator in its own process, so its work does not share this process's GIL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "langchain_flexai.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = ""
        for line in process.stdout:
            if "FLEXAI_API_BASE=" in line:
                base_url = line.split("=", 1)[1].strip()
                break
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_async_big_images() -> list[str]:
    with _emulator_process() as base_url:
        return _async_big_images(ChatFlexAI(base_url=base_url, api_key=DEFAULT_API_KEY))


def _async_big_images(model: ChatFlexAI) -> list[str]:
    batch = [_message(_noise_jpeg(4000, 3000, 90, seed=s)) for s in range(16)]

    async def ours() -> None:
        await asyncio.gather(*(model.ainvoke(m) for m in batch))

    async def inline() -> None:
        # What a naive integration does: prepare on the loop, then send.
        async def one(m: list[BaseMessage]) -> None:
            prepared = prepare_messages(m).messages
            await model.ainvoke(prepared)

        await asyncio.gather(*(one(m) for m in batch))

    async def prepare_only() -> None:
        await asyncio.gather(*(model._aprepare_messages(m, {}) for m in batch))

    async def prepare_serial() -> None:
        for m in batch:
            prepare_messages(m)

    rows = []
    figures: dict[str, list[tuple[float, float]]] = {
        "ours": [],
        "inline": [],
        "prepare_only": [],
        "prepare_serial": [],
    }

    async def rounds() -> None:
        # One loop for every round: the SDK's pooled async connections belong to a loop.
        for _ in range(3):
            for name, work in (
                ("ours", ours),
                ("inline", inline),
                ("prepare_only", prepare_only),
                ("prepare_serial", prepare_serial),
            ):
                clear_image_cache()
                figures[name].append(await _max_stall(work))

    asyncio.run(rounds())
    o_stall = min(s for s, _ in figures["ours"])
    i_stall = min(s for s, _ in figures["inline"])
    o_wall = min(w for _, w in figures["ours"])
    i_wall = min(w for _, w in figures["inline"])
    rows.append(
        f"| 16 concurrent 12 MP ainvoke: longest event-loop stall | {o_stall * 1e3:.0f} ms "
        f"| {i_stall * 1e3:.0f} ms (inline) | {i_stall / o_stall:.1f}× | ≤ 100 ms |"
    )
    rows.append(
        "| 16 concurrent 12 MP ainvoke, end to end (the emulator decodes too) "
        f"| {o_wall:.2f} s | {i_wall:.2f} s (inline) | {i_wall / o_wall:.2f}× | informational |"
    )
    p_wall = min(w for _, w in figures["prepare_only"])
    s_wall = min(w for _, w in figures["prepare_serial"])
    rows.append(
        f"| 16 × 12 MP image preparation, async (worker threads) vs serial | {p_wall:.2f} s "
        f"| {s_wall:.2f} s | {s_wall / p_wall:.2f}× | ≥ 1.6× on 2 cores |"
    )
    return rows


def run() -> list[PairedResult | str]:
    results: list[PairedResult | str] = [bench_construction(), *bench_invoke_rows()]
    with FlexAIEmulator() as emu:
        results.append(bench_invoke_compliant(emu))
        results.append(bench_fresh_event_loop(emu))
    results.extend(bench_async_big_images())
    return results
