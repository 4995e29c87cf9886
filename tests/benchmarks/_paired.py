"""Paired-ratio timing: ours and a baseline, alternating in one process, median of ratios.

Absolute times drift between runs and machines; the ratio of two things measured side by side
does not, so the ratio is the figure we report (see docs/performance.md).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedResult:
    """One scenario's outcome: medians of each side and the median of per-round ratios."""

    scenario: str
    ours_s: float
    baseline_s: float
    ratio: float  # baseline / ours: >1 means we are faster
    rounds: int
    target: str = ""

    def row(self) -> str:
        """A Markdown table row."""
        return (
            f"| {self.scenario} | {_fmt(self.ours_s)} | {_fmt(self.baseline_s)} "
            f"| {self.ratio:.2f}× | {self.target} |"
        )


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _time_once(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def paired(
    scenario: str,
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int = 15,
    inner: int = 1,
    target: str = "",
) -> PairedResult:
    """Time ``ours`` and ``baseline`` alternately; report medians and the median ratio."""
    ours()  # warm caches, imports, lazy clients on both sides
    baseline()
    # As timeit does: no collection inside the timings. (A gc.collect() per round was worse: it
    # lets the allocator return freed megabytes to the OS, the next side to run pays the page
    # faults alone, and the median ratio flipped between two modes with the order.)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _rounds(scenario, ours, baseline, rounds=rounds, inner=inner, target=target)
    finally:
        if enabled:
            gc.enable()


def _rounds(
    scenario: str,
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    rounds: int,
    inner: int,
    target: str,
) -> PairedResult:
    ours_times: list[float] = []
    base_times: list[float] = []
    ratios: list[float] = []
    for i in range(rounds):
        # Alternate which side goes first so drift (thermal, caches) hits both equally.
        if i % 2:
            b = _time_once(baseline, inner)
            o = _time_once(ours, inner)
        else:
            o = _time_once(ours, inner)
            b = _time_once(baseline, inner)
        ours_times.append(o)
        base_times.append(b)
        ratios.append(b / o if o > 0 else float("inf"))
    return PairedResult(
        scenario=scenario,
        ours_s=statistics.median(ours_times),
        baseline_s=statistics.median(base_times),
        ratio=statistics.median(ratios),
        rounds=rounds,
        target=target,
    )


HEADER = "| scenario | ours | baseline | baseline/ours | target |\n|---|---|---|---|---|"
