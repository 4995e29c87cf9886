"""The state of one describe run: counters, the stop signal, the 429 pause, cache and progress bar.

Knows what a run has done so far (outcome counts, requests, tokens paid and saved, problems), the
error that stopped it (no request starts after it), the pause a 429 imposes on every request, and
hands each record out counted (progress bar, ``on_progress``). Knows nothing about models or
scheduling: :mod:`langchain_flexai.describe._run` decides what is sent and when.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from os import PathLike

from langchain_flexai._progress import ProgressBar
from langchain_flexai.describe._cache import DescribeCache
from langchain_flexai.describe._rate_limit import StartGate
from langchain_flexai.describe._records import (
    DescribeInput,
    DescribeProgress,
    DescribeRecord,
    DescribeReport,
    TokenUsage,
    input_page,
    without_payload,
)

logger = logging.getLogger("langchain_flexai.describe._run")
"""The run's logger, named as before the state had a module of its own."""


class RunState:
    """Counters, cache and progress bar of one run; ``emit`` is called in output order."""

    def __init__(
        self,
        *,
        cache_path: str | PathLike[str] | None,
        show_progress: bool,
        on_progress: Callable[[DescribeProgress], None] | None,
        total: int | None,
        finish: Callable[[DescribeRecord], DescribeRecord] | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.finish = finish  # the last step of a record, in input order (sidecars)
        self.total = total
        self.started = time.perf_counter()
        self.counts = {"described": 0, "cached": 0, "skipped": 0, "failed": 0}
        self.requests = 0
        self.usage = TokenUsage()
        self.usage_saved = TokenUsage()
        self.problems: list[DescribeRecord] = []
        self.elapsed_s: float | None = None  # set when the run ends
        self.lock = threading.Lock()
        self.fatal: Exception | None = None  # an error that stops the run (bad key, no credit)
        self.stopped = threading.Event()  # set with `fatal`: wakes threads waiting their turn
        self.paused_until = -math.inf  # monotonic time before which no request starts (a 429)
        self.cache = DescribeCache(cache_path) if cache_path else None
        self.bar = ProgressBar(enabled=show_progress, total=total, desc="describe")

    def check_fatal(self) -> None:
        """Refuse to send another request once an error has stopped the run."""
        if self.fatal is not None:
            raise self.fatal

    def stop(self, error: Exception) -> None:
        """Stop the run: no further request starts, waiting threads wake up."""
        self.fatal = error
        self.stopped.set()

    def pause(self, seconds: float) -> None:
        """Let no request of this run start for ``seconds`` (a 429's ``Retry-After``)."""
        with self.lock:
            self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    def turn_wait(self, limiter: StartGate | None) -> float:
        """0.0 when a request may start now (a limiter slot taken), else seconds to wait."""
        self.check_fatal()
        wait = self.paused_until - time.monotonic()
        if wait > 0:
            return wait
        return limiter.try_acquire() if limiter is not None else 0.0

    def count_request(self) -> None:
        with self.lock:
            self.requests += 1

    def emit(self, record: DescribeRecord, item: DescribeInput) -> DescribeRecord:
        """Count ``record`` and hand it out, carrying ``item``, the input it answers."""
        record = replace(record, input=item, page=input_page(item))
        if self.finish is not None:
            record = self.finish(record)
        status = record.status
        self.counts[status] += 1
        if status == "described" and record.usage:
            self.usage += record.usage
        elif status == "cached" and record.usage:
            self.usage_saved += record.usage
        elif status in ("skipped", "failed"):
            self.problems.append(without_payload(record))
            logger.info("image %s %s: %s", record.source, status, record.error)
        self.bar.advance(self.counts)
        if self.on_progress is not None:
            self.on_progress(self.progress())
        return record

    def progress(self) -> DescribeProgress:
        return DescribeProgress(
            total=self.total,
            requests=self.requests,
            elapsed_s=time.perf_counter() - self.started,
            **self.counts,
        )

    def report(self) -> DescribeReport:
        elapsed = self.elapsed_s
        return DescribeReport(
            requests=self.requests,
            usage=self.usage,
            usage_saved=self.usage_saved,
            elapsed_s=time.perf_counter() - self.started if elapsed is None else elapsed,
            problems=tuple(self.problems),
            **self.counts,
        )

    def close(self) -> None:
        self.bar.close()
        if self.cache is not None:
            self.cache.close()
        self.elapsed_s = time.perf_counter() - self.started
        logger.info("describe run: %s", self.report().summary())


class RunClosed(Exception):  # noqa: N818 - internal signal, never reaches a caller
    """Stops the workers of a run whose consumer went away (closed or broke out early)."""


def check_before_waiting(
    run: RunState, next_answer: Future[DescribeRecord] | asyncio.Future[DescribeRecord]
) -> None:
    """Raise the error that stopped the run rather than wait for an answer that will not come.

    An answer already there is handed out even after a stop: a record finished (and paid for)
    before the stop reaches the output file; the record that hit the stop raises in its place.
    A worker thread already running is waited for too: its request is out (and paid for), or
    it raises the stop at once (threads waiting their turn wake when the run stops).
    """
    if next_answer.done():
        return
    if isinstance(next_answer, Future) and next_answer.running():
        return
    run.check_fatal()
