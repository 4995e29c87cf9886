"""Worst-case decode cost per format under the default policy: peak memory and CPU.

For each format the input is the one that costs most within the default limits: the largest pixel
count the policy lets that format claim (``decode_limit``), in the pixel layout that decodes into
the most bytes (RGBA, 16-bit, palette), with flat content so the file is tiny (what a hostile
upload looks like). Each image is prepared in a fresh interpreter, whose peak RSS is measured
(``ru_maxrss`` through ``RUSAGE_CHILDREN``: Pillow's and libwebp's C allocations included, which
``tracemalloc`` cannot see) above what it held once the imports were done and the bytes read.
These are the figures docs/images.md ("Formats and their cost") quotes.

Run alone: ``python -m tests.benchmarks decode_memory``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from langchain_flexai.images._policy import DEFAULT_POLICY
from langchain_flexai.images._probe import decode_limit

_CHILD = r"""
import resource, sys, time
from langchain_flexai.images._doors import prepare_inline_image
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
prepared = prepare_inline_image(data)
cpu = time.process_time() - start
print(before, cpu, prepared.mime_type, prepared.width, prepared.height)
"""
# The child's own ru_maxrss read at its end lags on some kernels; its parent's RUSAGE_CHILDREN
# after the child exits does not. That figure is the maximum over every child waited for, so
# each child gets a parent of its own.
_PARENT = r"""
import resource, subprocess, sys
out = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True,
                     text=True, check=True).stdout
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out)
"""

_MIB_BUDGET = 640  # docs/images.md: the documented worst case, with a margin for allocator noise
_CPU_BUDGET = 3.0  # the hostile-input target for anything the default policy accepts


def _square(pixels: int) -> tuple[int, int]:
    side = math.isqrt(pixels)
    return side, side


def _webp_size(pixels: int) -> tuple[int, int]:
    width = min(16383, math.isqrt(pixels))  # WebP's own side limit
    return width, pixels // width


def _cases() -> list[tuple[str, str, Callable[[tuple[int, int]], Image.Image], dict[str, object]]]:
    rgb = (10, 200, 30)
    return [
        ("JPEG baseline", "JPEG", lambda s: Image.new("RGB", s, rgb), {"quality": 50}),
        (
            "JPEG progressive",
            "JPEG",
            lambda s: Image.new("RGB", s, rgb),
            {"quality": 50, "progressive": True},
        ),
        ("PNG RGB 8-bit", "PNG", lambda s: Image.new("RGB", s, rgb), {"compress_level": 1}),
        (
            "PNG RGBA 8-bit",
            "PNG",
            lambda s: Image.new("RGBA", s, (*rgb, 128)),
            {"compress_level": 1},
        ),
        ("PNG gray 16-bit", "PNG", lambda s: Image.new("I;16", s, 3000), {"compress_level": 1}),
        ("PNG palette", "PNG", lambda s: Image.new("P", s, 3), {"compress_level": 1}),
        ("GIF", "GIF", lambda s: Image.new("P", s, 3), {}),
        (
            "TIFF RGB deflate",
            "TIFF",
            lambda s: Image.new("RGB", s, rgb),
            {"compression": "tiff_deflate"},
        ),
        (
            "WebP lossless RGBA",
            "WEBP",
            lambda s: Image.new("RGBA", s, (*rgb, 128)),
            {"lossless": True, "method": 0},
        ),
        ("WebP lossy", "WEBP", lambda s: Image.new("RGB", s, rgb), {"quality": 50, "method": 0}),
    ]


def _measure(path: Path) -> tuple[float, float, str]:
    out = subprocess.run(
        [sys.executable, "-c", _PARENT, _CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, before, cpu, mime, width, height = out.stdout.split()
    return (int(peak) - int(before)) / 1024, float(cpu), f"{mime} {width}×{height}"


def run() -> list[str]:
    """One row per format: peak extra RSS and CPU of its worst case."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, fmt, make, options in _cases():
            limit, _ = decode_limit(DEFAULT_POLICY, fmt)
            size = _webp_size(limit) if fmt == "WEBP" else _square(limit)
            path = Path(folder) / f"worst.{fmt.lower()}"
            image = make(size)
            image.save(path, fmt, **options)
            del image
            extra, cpu, sent = _measure(path)
            megapixels = size[0] * size[1] / 1e6
            kib = path.stat().st_size / 1024
            ok = extra <= _MIB_BUDGET and cpu <= _CPU_BUDGET
            rows.append(
                f"| worst {label}: {megapixels:.0f} MP ({size[0]}×{size[1]}, {kib:,.0f} KiB) "
                f"→ {sent}, peak extra RSS / CPU (fresh process) | {extra:.0f} MiB | {cpu:.2f} s "
                f"| — | ≤ {_MIB_BUDGET} MiB and ≤ {_CPU_BUDGET:.0f} s: {'yes' if ok else 'NO'} |"
            )
            path.unlink()
    return rows
