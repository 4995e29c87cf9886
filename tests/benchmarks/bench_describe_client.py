"""The describe run's client side, its memory, and the command line's start-up, beside baselines.

- describe, client only: a mock transport answers at once, so the rate is what the client's CPU
  allows; ``ImageDescriber`` over ``ChatFlexAI`` against ``ChatOpenAI.abatch`` over the same
  requests (req/s), and client CPU per request against the raw openai SDK (``gather`` under a
  semaphore): 480 distinct small PNGs, 16 in flight;
- describe memory: 3,000 distinct ~88 KiB JPEG files, each in a clean child (peak RSS of its own
  address space, ``_child.py``): ``ImageDescriber`` against a ``ChatOpenAI`` loop;
- ``flexai-vision --help`` wall against ``python -c "import PIL.Image, argparse"``;
- ``import langchain_flexai`` (informational) against ``import langchain_openai``.

Each row says its target and whether this run met it. Images are generated once under
``.bench/describe`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from tests.benchmarks._child import ROOT, peak_mib, run_child

BENCH = ROOT / ".bench" / "describe"
_DISTINCT = 3000
_SMALL = 480
_CONCURRENCY = 16


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- images -------------------------------------------------------------------------------------


def _photo(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    return Image.blend(base, noise, 0.5)


def _distinct_jpegs() -> list[Path]:
    folder = BENCH / "distinct3000"
    marker = folder / ".ready-v1"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        template = _photo(420, 315, 1)
        for i in range(_DISTINCT):
            image = template.copy()
            image.putpixel((i % 420, i // 420), (i % 256, 0, 255))  # distinct bytes
            image.save(folder / f"img_{i:05d}.jpg", "JPEG", quality=90)
        marker.touch()
    return sorted(folder.glob("*.jpg"))


def _small_pngs() -> list[bytes]:
    out = []
    for i in range(_SMALL):
        buffer = io.BytesIO()
        _photo(64, 48, 1000 + i).save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


# -- describe, client only ----------------------------------------------------------------------

_REPLY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "phi-4-multimodal-instruct",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A picture."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 90, "completion_tokens": 3, "total_tokens": 93},
    }
).encode()

MOCK_CLIENTS = f"""
import openai
try:
    import httpx2 as _h
except ImportError:
    import httpx as _h
_REPLY = {_REPLY!r}
def _answer(request):
    request.read()
    return _h.Response(200, content=_REPLY, headers={{"content-type": "application/json"}})
async def _aanswer(request):
    await request.aread()
    return _h.Response(200, content=_REPLY, headers={{"content-type": "application/json"}})
def sync_client():
    return openai.DefaultHttpxClient(transport=_h.MockTransport(_answer))
def async_client():
    return openai.DefaultAsyncHttpxClient(transport=_h.MockTransport(_aanswer))
"""


def _mock_clients() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(MOCK_CLIENTS, namespace)  # noqa: S102 - the same helpers the children use
    return namespace


def _describe_client_rows() -> list[str]:
    from langchain_openai import ChatOpenAI  # noqa: PLC0415
    from openai import AsyncOpenAI  # noqa: PLC0415

    from langchain_flexai import ChatFlexAI, ImageDescriber, clear_image_cache  # noqa: PLC0415
    from langchain_flexai import prepare_inline_image as prepare  # noqa: PLC0415

    mock = _mock_clients()
    base = {"api_key": "fake-bench-key", "base_url": "http://flexai.test/v1", "max_retries": 0}
    ours = ChatFlexAI(**base, http_async_client=mock["async_client"]())
    theirs = ChatOpenAI(
        **base, model="phi-4-multimodal-instruct", http_async_client=mock["async_client"]()
    )
    sdk = AsyncOpenAI(**base, http_client=mock["async_client"]())
    images = [prepare(data) for data in _small_pngs()]
    describer = ImageDescriber(ours, "Describe.", max_concurrency=_CONCURRENCY)
    batch = [describer.messages_for(image) for image in images]
    openai_parts = [
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Describe."}, image.to_openai_part()],
            }
        ]
        for image in images
    ]

    async def run_ours() -> None:
        async for _ in describer.adescribe(images):
            pass

    async def run_theirs() -> None:
        await theirs.abatch(batch, config={"max_concurrency": _CONCURRENCY})  # type: ignore[arg-type]

    async def run_sdk() -> None:
        slots = asyncio.Semaphore(_CONCURRENCY)

        async def one(messages: list[dict[str, Any]]) -> None:
            async with slots:
                await sdk.chat.completions.create(
                    model="phi-4-multimodal-instruct", messages=messages
                )  # type: ignore[arg-type]

        await asyncio.gather(*(one(m) for m in openai_parts))

    figures: dict[str, list[tuple[float, float]]] = {"ours": [], "theirs": [], "sdk": []}

    async def rounds() -> None:
        sides = (("ours", run_ours), ("theirs", run_theirs), ("sdk", run_sdk))
        for i in range(6):  # round 0 warms up; sides alternate their order
            for name, work in sides if i % 2 else reversed(sides):
                clear_image_cache()  # every image fresh to the chat model, as in a real run
                cpu, wall = time.process_time(), time.perf_counter()
                await work()
                if i:
                    elapsed = time.perf_counter() - wall
                    figures[name].append((elapsed, (time.process_time() - cpu) / _SMALL))

    asyncio.run(rounds())
    rate = {k: _SMALL / statistics.median(w for w, _ in v) for k, v in figures.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in figures.items()}
    speed, cost = rate["ours"] / rate["theirs"], cpu["ours"] / cpu["sdk"]
    first = (
        f"| describe {_SMALL} distinct 64×48 PNGs, client only (mock transport), "
        f"{_CONCURRENCY} in flight: ImageDescriber vs ChatOpenAI.abatch | {rate['ours']:.0f} req/s "
        f"| {rate['theirs']:.0f} req/s | {speed:.2f}× | ≥ 1.3×: {_met(speed >= 1.3)} |"
    )
    second = (
        f"| ↳ client CPU per request, ours vs the raw openai SDK (gather, {_CONCURRENCY} in "
        f"flight) | {cpu['ours'] * 1e3:.2f} ms | {cpu['sdk'] * 1e3:.2f} ms (ChatOpenAI "
        f"{cpu['theirs'] * 1e3:.2f} ms) | ours/SDK = {cost:.2f} | ≤ 1.5: {_met(cost <= 1.5)} |"
    )
    return [first, second]


# -- describe memory ------------------------------------------------------------------------------

_OURS_MEMORY = (
    MOCK_CLIENTS
    + """
import sys
from pathlib import Path
from langchain_flexai import ChatFlexAI, ImageDescriber, prepare_image
paths = sorted(Path(sys.argv[1]).glob("*.jpg"))
model = ChatFlexAI(
    api_key="k", base_url="http://flexai.test/v1",
    http_client=sync_client(), http_async_client=async_client(),
)
describer = ImageDescriber(model, "Describe.", max_concurrency=16)
if sys.argv[2] == "threads":
    RESULT = sum(1 for r in describer.describe(prepare_image(p) for p in paths) if r.description)
else:
    import asyncio
    async def _run():
        images = (prepare_image(p) for p in paths)
        return sum([1 async for r in describer.adescribe(images) if r.description])
    RESULT = asyncio.run(_run())
"""
)

_CHATOPENAI_LOOP = (
    MOCK_CLIENTS
    + """
import base64, sys
from pathlib import Path
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
paths = sorted(Path(sys.argv[1]).glob("*.jpg"))
model = ChatOpenAI(api_key="k", base_url="http://flexai.test/v1", http_client=sync_client())
RESULT = 0
for path in paths:
    url = "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()
    part = {"type": "image_url", "image_url": {"url": url}}
    answer = model.invoke([HumanMessage(content=[{"type": "text", "text": "Describe."}, part])])
    RESULT += bool(answer.content)
"""
)


def _memory_rows() -> list[str]:
    paths = _distinct_jpegs()
    size_kib = statistics.mean(p.stat().st_size for p in paths[:50]) / 1024
    folder = str(paths[0].parent)
    theirs = run_child(_CHATOPENAI_LOOP, folder)
    rows = []
    for mode in ("async", "threads"):
        ours = run_child(_OURS_MEMORY, folder, mode)
        ratio = peak_mib(ours) / peak_mib(theirs)
        rows.append(
            f"| describe memory: {len(paths):,} distinct {size_kib:.0f} KiB JPEG files, "
            f"{_CONCURRENCY} in flight, {mode}, peak RSS (clean children; {ours['result']} and "
            f"{theirs['result']} answered) vs a ChatOpenAI loop "
            f"| {peak_mib(ours):.0f} MiB | {peak_mib(theirs):.0f} MiB | ours/loop = {ratio:.2f} "
            f"| ≤ 1.5: {_met(ratio <= 1.5)} |"
        )
    return rows


# -- start-up -------------------------------------------------------------------------------------


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def _help_row() -> str:
    script = Path(sys.executable).parent / "flexai-vision"
    ours = (
        [str(script), "--help"]
        if script.exists()
        else [sys.executable, "-m", "langchain_flexai", "--help"]
    )
    floor = [sys.executable, "-c", "import PIL.Image, argparse"]
    _wall(ours), _wall(floor)
    pairs = [(_wall(ours), _wall(floor)) for _ in range(9)]
    ratio = statistics.median(o / f for o, f in pairs)
    return (
        f'| `flexai-vision --help` wall vs `python -c "import PIL.Image, argparse"` '
        f"| {statistics.median(o for o, _ in pairs) * 1e3:.0f} ms "
        f"| {statistics.median(f for _, f in pairs) * 1e3:.0f} ms | ours/floor = {ratio:.2f} "
        f"| ≤ 3: {_met(ratio <= 3)} |"
    )


_TIMED_IMPORT = (
    "import time\n_t = time.perf_counter()\nimport {}\nRESULT = time.perf_counter() - _t"
)


def _import_row() -> str:
    ours = run_child(_TIMED_IMPORT.format("langchain_flexai"))
    theirs = run_child(_TIMED_IMPORT.format("langchain_openai"))
    ours_s, theirs_s = float(ours["result"]), float(theirs["result"])  # type: ignore[arg-type]
    return (
        "| `import langchain_flexai` vs `import langchain_openai` (clean children: wall, "
        f"peak RSS) | {ours_s * 1e3:.0f} ms, {peak_mib(ours):.0f} MiB "
        f"| {theirs_s * 1e3:.0f} ms, {peak_mib(theirs):.0f} MiB | — | informational |"
    )


def run() -> list[str]:
    """Every row of this module (about a minute on 2 cores, plus one-time image generation)."""
    return [*_describe_client_rows(), *_memory_rows(), _help_row(), _import_row()]
