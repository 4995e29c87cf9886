"""`make bench`: run every ``bench_*.py`` module's ``run()`` and print one Markdown table.

Each ``run()`` returns a list of :class:`PairedResult` (or rows of text for figures that are not
timings, such as memory). Each module runs in a fresh interpreter, so one module's threads, pools,
caches and heap cannot colour the next one's figures. Nothing here fails on time: ratios are
reported, not asserted.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import subprocess
import sys
from pathlib import Path

from tests.benchmarks._paired import HEADER, PairedResult

_ONE = "--one"


def _run_one(name: str) -> None:
    module = importlib.import_module(f"tests.benchmarks.{name}")
    for result in module.run():
        print(result.row() if isinstance(result, PairedResult) else result, flush=True)


def main(selected: list[str]) -> int:
    """Run the benchmark modules (all, or those whose name contains an argument)."""
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.platform()}"
    )
    print(HEADER, flush=True)
    failed = 0
    for name in names:
        done = subprocess.run([sys.executable, "-m", "tests.benchmarks", _ONE, name], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == [_ONE]:
        _run_one(sys.argv[2])
    else:
        sys.exit(main(sys.argv[1:]))
