"""`make bench`: run every ``bench_*.py`` module's ``run()`` and print one Markdown table.

Each ``run()`` returns a list of :class:`PairedResult` (or rows of text for figures that are not
timings, such as memory). Nothing here fails on time: ratios are reported, not asserted.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
from pathlib import Path

from tests.benchmarks._paired import HEADER, PairedResult


def main(selected: list[str]) -> None:
    """Run the benchmark modules (all, or those whose name contains an argument)."""
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.platform()}"
    )
    print(HEADER)
    for name in names:
        module = importlib.import_module(f"tests.benchmarks.{name}")
        for result in module.run():
            print(result.row() if isinstance(result, PairedResult) else result, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
