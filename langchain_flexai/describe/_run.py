"""Describe many images with a chat model: bounded concurrency, a rate limit, resume, progress.

Knows how to turn a stream of prepared images into a stream of :class:`DescribeRecord` (one per
input, in input order) while keeping at most ``max_concurrency`` requests in flight, never more
than ``requests_per_minute`` request starts in any minute (every HTTP attempt, retries included,
passes the limiter), and never paying twice for an image a previous run already described (the
SQLite cache at ``cache_path``). Knows nothing about files or folders (``FlexAIImageLoader`` walks
and prepares; this module only asks the model) nor about the wire format (the chat model sends
what it is given).

FlexAI has no batch endpoint, so bulk work is client-side fan-out. Retries are this module's: a
model built on the openai SDK (``ChatFlexAI``) is run with the SDK's own retries off, because
those would send requests the rate limiter never sees. 429, 5xx, timeouts, connection errors and
streams cut mid-answer are asked again with backoff (``Retry-After`` honoured); a 429 pauses the
whole run, not only the image that got it. Errors that no retry can fix (401 bad key, 402 credit
exhausted, 403, an unknown or text-only model, a server still unreachable or still rate-limiting
after every retry) stop the run instead of failing every image one by one.

The record, progress and report types live in ``_records`` and are re-exported here; the resume
key is ``_key``'s, the cache file ``_cache``'s. Every record carries the input it answers
(``record.input``), so a caller joins what it fed in without a table of its own.

Entry points: :class:`ImageDescriber` with :meth:`~ImageDescriber.describe` (threads) and
:meth:`~ImageDescriber.adescribe` (asyncio). A CLI writes ``record.to_json_dict()`` as JSON lines
and reads :attr:`ImageDescriber.report` at the end; ``on_progress`` receives counts as they change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
)
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from os import PathLike

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from langchain_flexai._loader._documents import vision_message
from langchain_flexai._progress import ProgressBar
from langchain_flexai.describe._cache import DescribeCache
from langchain_flexai.describe._key import EMULATOR_ENDPOINT, RequestIdentity
from langchain_flexai.describe._rate_limit import (
    HeaderPacer,
    RequestRateLimiter,
    StartGate,
    with_response_headers,
)
from langchain_flexai.describe._records import (
    DEFAULT_PROMPT,
    DescribeInput,
    DescribeProgress,
    DescribeRecord,
    DescribeReport,
    LoadedImage,
    SkippedImage,
    TokenUsage,
    answer_text,
    no_text_message,
)
from langchain_flexai.describe._retry import (
    format_seconds,
    is_fatal,
    is_rate_limited,
    retry_delay,
    without_sdk_retries,
)
from langchain_flexai.errors import ImageInputError
from langchain_flexai.images._prepared import PreparedImage

__all__ = [
    "DEFAULT_PROMPT",
    "EMULATOR_ENDPOINT",
    "DescribeInput",
    "DescribeProgress",
    "DescribeRecord",
    "DescribeReport",
    "ImageDescriber",
    "RequestRateLimiter",
    "SkippedImage",
    "TokenUsage",
    "answer_text",
    "no_text_message",
    "resume_key",
]

logger = logging.getLogger(__name__)


def resume_key(image: PreparedImage) -> str | None:
    """The image part of the resume key (None: the image is never cached).

    The SHA-256 of the image bytes; for an https URL, whose bytes are never fetched here, the
    SHA-256 of the URL text, prefixed ``url:`` (the same URL is not asked twice, even if the
    picture behind it changed).
    """
    if image.sha256 is not None:
        return image.sha256
    if image.url.startswith("https://"):
        return "url:" + hashlib.sha256(image.url.encode()).hexdigest()
    return None


def model_identity(model: BaseChatModel) -> str:
    """The model id used in the resume key (``model_name`` / ``model``, else the model type)."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return model._llm_type  # noqa: SLF001 - the only identity a generic chat model has


class _Run:
    """Counters, cache and progress bar of one run; ``emit`` is called in output order."""

    def __init__(self, describer: ImageDescriber, total: int | None) -> None:
        self.describer = describer
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
        self.cache = DescribeCache(describer.cache_path) if describer.cache_path else None
        self.bar = ProgressBar(enabled=describer.show_progress, total=total, desc="describe")

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
        record = replace(record, input=item)
        status = record.status
        self.counts[status] += 1
        if status == "described" and record.usage:
            self.usage += record.usage
        elif status == "cached" and record.usage:
            self.usage_saved += record.usage
        elif status in ("skipped", "failed"):
            self.problems.append(_without_payload(record))
            logger.info("image %s %s: %s", record.source, status, record.error)
        self.bar.advance(self.counts)
        if self.describer.on_progress is not None:
            self.describer.on_progress(self.progress())
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


def _without_payload(record: DescribeRecord) -> DescribeRecord:
    return DescribeRecord(
        source=record.source,
        sha256=record.sha256,
        error=record.error,
        reason=record.reason,
        # No `exception`: an openai error keeps the whole request body (base64 images) alive.
        # The live exception reaches the consumer with the record itself, at emit time.
    )


def _skipped(item: SkippedImage | ImageInputError) -> DescribeRecord:
    if isinstance(item, ImageInputError):
        item = SkippedImage(item.source, item)
    return DescribeRecord(
        source=item.source,
        sha256=None,
        error=item.error.detail,
        reason=item.error.reason.value,
        exception=item.error,
    )


class ImageDescriber:
    """Ask a chat model to describe many images, politely and resumably.

    Example:
        ```python
        describer = ImageDescriber(ChatFlexAI(), requests_per_minute=60, cache_path="d.sqlite")
        for record in describer.describe(prepare_image(p) for p in paths):
            print(record.source, record.description)
        print(describer.report.summary())
        ```
    """

    def __init__(
        self,
        model: BaseChatModel,
        prompt: str = DEFAULT_PROMPT,
        *,
        max_concurrency: int = 4,
        requests_per_minute: int | None = None,
        rate_limiter: RequestRateLimiter | None = None,
        cache_path: str | PathLike[str] | None = None,
        detail: str | None = None,
        max_retries: int = 5,
        on_progress: Callable[[DescribeProgress], None] | None = None,
        show_progress: bool = False,
        endpoint: str | None = None,
    ) -> None:
        """Configure a describer (nothing is sent until a run starts).

        Args:
            model: Any chat model that accepts image content (``ChatFlexAI`` in practice).
            prompt: The text sent with every image, exactly as given (never ``str.format``-ed).
            max_concurrency: Requests in flight at once. FlexAI has no per-key concurrency cap,
                but the rate limit makes more than about ``requests_per_minute / 60`` times the
                request latency pointless.
            requests_per_minute: Request starts allowed in any 60 s (FlexAI: 10 free, 60
                elevated, 100-300 paid). None (and no ``rate_limiter``): paced by the
                ``x-ratelimit-*`` headers of the server's answers (``HeaderPacer``).
            rate_limiter: A limiter to use instead (shared between runs or describers, or with
                another window); overrides ``requests_per_minute``.
            cache_path: SQLite file of answers keyed by everything that decides an answer: the
                SHA-256 of the image bytes sent, the endpoint, the model, the prompt and the
                request settings (temperature, max_tokens, seed, response format, ``detail``,
                ...). A run killed half-way and started again sends no request for images
                already described; a run against another server or with other settings does.
            detail: Image ``detail`` hint (``"auto"``, ``"low"``, ``"high"``), or None.
            max_retries: Times an image is asked again after a 429, a 5xx, a timeout, a
                connection error or a stream cut mid-answer (``streaming=True`` models), with
                exponential backoff or the ``Retry-After`` the server sent (a 429 pauses the
                whole run). Replaces the openai SDK's own retries, which are turned off for
                the run so that every attempt passes the rate limiter.
            on_progress: Called with a :class:`DescribeProgress` after every record.
            show_progress: Show a tqdm bar (extra ``progress``): described / cached / skipped /
                failed counts, rate and ETA.
            endpoint: The server's identity in the resume key, instead of the model's
                normalised base URL: :data:`EMULATOR_ENDPOINT` (``"emulator"``) for the bundled
                emulator, whose port changes every run. A loopback base URL used with the
                emulator's default key is recognised without it.

        Raises:
            ValueError: ``max_concurrency`` < 1 or a negative retry count.
        """
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        self.model = model
        self._sender = without_sdk_retries(model)
        self.prompt = prompt
        self.max_concurrency = max_concurrency
        if rate_limiter is None and requests_per_minute is not None:
            rate_limiter = RequestRateLimiter.per_minute(requests_per_minute)
        self.rate_limiter = rate_limiter
        # Without an explicit limit, the server's x-ratelimit-* headers pace the run.
        self._gate: StartGate = rate_limiter if rate_limiter is not None else HeaderPacer()
        if isinstance(self._gate, HeaderPacer):
            self._sender = with_response_headers(self._sender)
        self.cache_path = cache_path
        self.detail = detail
        self.max_retries = max_retries
        self.on_progress = on_progress
        self.show_progress = show_progress
        self.model_id = model_identity(model)
        self.request_identity = RequestIdentity.of(
            model, self.model_id, prompt, detail=detail, endpoint=endpoint
        )
        """What the resume cache keys answers by, besides the image (see ``cache_path``)."""
        self._run: _Run | None = None

    @property
    def report(self) -> DescribeReport:
        """The report of the current run (live) or of the last one; empty before any run."""
        return self._run.report() if self._run is not None else DescribeReport()

    def messages_for(self, image: PreparedImage) -> list[BaseMessage]:
        """The request for one image: the prompt text, then the image."""
        return [vision_message(self.prompt, image.to_content_block(self.detail))]

    # -- per image ---------------------------------------------------------------------

    def _from_cache(self, run: _Run, image: PreparedImage) -> DescribeRecord | None:
        key = resume_key(image)
        if run.cache is None or key is None:
            return None
        hit = run.cache.get(key, self.request_identity)
        if hit is None:
            return None
        return DescribeRecord(
            source=image.source,
            sha256=image.sha256,
            description=hit.description,
            usage=TokenUsage.from_dict(hit.usage),
            cached=True,
            image=image,
        )

    def _answered(self, run: _Run, image: PreparedImage, message: BaseMessage) -> DescribeRecord:
        text = answer_text(message)
        usage = TokenUsage.from_message(message)
        if not text:
            return DescribeRecord(
                source=image.source,
                sha256=image.sha256,
                usage=usage,
                error=f"{no_text_message(message)}; reasoning models may need a larger max_tokens",
                reason="empty_answer",
                image=image,
            )
        key = resume_key(image)
        if run.cache is not None and key is not None:
            run.cache.put(key, self.request_identity, text, usage.as_dict() if usage else None)
        return DescribeRecord(
            source=image.source, sha256=image.sha256, description=text, usage=usage, image=image
        )

    def _after_error(
        self, run: _Run, image: PreparedImage, error: Exception, attempt: int
    ) -> DescribeRecord | float:
        """What follows a failed attempt: the seconds to wait before the next, or the record.

        Shared by the thread and asyncio loops, which differ only in how they wait and send.

        Raises:
            Exception: ``error`` itself when it stops the run (see :func:`is_fatal`).
        """
        delay = retry_delay(error, attempt)
        exhausted = delay is None or attempt >= self.max_retries
        if is_fatal(error, retries_exhausted=exhausted):
            run.stop(error)  # no further request is sent; the consumer re-raises in order
            raise error
        if exhausted or delay is None:
            return DescribeRecord(
                source=image.source,
                sha256=image.sha256,
                error=f"{type(error).__name__}: {error}",
                reason="request_failed",
                image=image,
                exception=error,
            )
        if is_rate_limited(error):
            # The key's limit is shared by every request of the run: pause them all.
            logger.warning(
                "rate limited by the server; pausing requests for %s", format_seconds(delay)
            )
            run.pause(delay)
            if self.rate_limiter is not None:
                self.rate_limiter.pause(delay)  # other runs sharing the limiter pause too
            return 0.0
        logger.info("request failed (%s); retrying in %s", error, format_seconds(delay))
        return delay

    def _describe_one(self, run: _Run, image: PreparedImage) -> DescribeRecord:
        messages = self.messages_for(image)
        attempt = 0
        while True:
            while (wait := run.turn_wait(self._gate)) > 0:
                run.stopped.wait(wait)  # wakes at once when the run stops
            run.count_request()
            try:
                answer = self._sender.invoke(messages)
            except Exception as error:  # noqa: BLE001 - every failure becomes a record
                self._gate.observe(error)
                outcome = self._after_error(run, image, error, attempt)
                if isinstance(outcome, DescribeRecord):
                    return outcome
                run.stopped.wait(outcome)
                attempt += 1
                continue
            self._gate.observe(answer)
            return self._answered(run, image, answer)

    async def _adescribe_one(
        self, run: _Run, image: PreparedImage, slots: asyncio.Semaphore
    ) -> DescribeRecord:
        messages = self.messages_for(image)
        attempt = 0
        async with slots:
            while True:
                while (wait := run.turn_wait(self._gate)) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(wait)
                run.count_request()
                try:
                    answer = await self._sender.ainvoke(messages)
                except Exception as error:  # noqa: BLE001 - every failure becomes a record
                    self._gate.observe(error)
                    outcome = self._after_error(run, image, error, attempt)
                    if isinstance(outcome, DescribeRecord):
                        return outcome
                    await asyncio.sleep(outcome)
                    attempt += 1
                    continue
                self._gate.observe(answer)
                return self._answered(run, image, answer)

    def _window(self) -> int:
        # Results leave in input order; a window wider than the concurrency keeps every slot
        # busy while the oldest request is still out, and bounds what is held in memory.
        return self.max_concurrency * 2 + 4

    # -- runs --------------------------------------------------------------------------

    def describe(
        self, images: Iterable[DescribeInput], *, total: int | None = None
    ) -> Generator[DescribeRecord, None, None]:
        """Describe ``images`` with worker threads; one record per input, in input order.

        Args:
            images: Prepared images (and errors standing for files that could not be prepared),
                consumed lazily.
            total: How many inputs to expect, for the progress bar and ``on_progress``.

        Yields:
            One :class:`DescribeRecord` per input.

        Raises:
            openai.APIStatusError: An error no image can avoid (bad key, no credit, wrong model).
        """
        run = self._run = _Run(self, total)
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="flexai-describe")
        # Each input waits in order beside its answer: the record carries it out.
        pending: deque[tuple[DescribeInput, Future[DescribeRecord]]] = deque()
        window = self._window()
        try:
            for item in images:
                pending.append((item, self._schedule(run, pool, item)))
                while pending and (len(pending) >= window or pending[0][1].done()):
                    run.check_fatal()
                    done, future = pending.popleft()
                    yield run.emit(future.result(), done)
            while pending:
                run.check_fatal()
                done, future = pending.popleft()
                yield run.emit(future.result(), done)
        finally:
            run.stopped.set()  # threads still waiting their turn give up at once
            if run.fatal is None:
                run.fatal = _RunClosed("the describe run was closed")
            pool.shutdown(wait=True, cancel_futures=True)
            run.close()

    def _schedule(
        self, run: _Run, pool: ThreadPoolExecutor, item: DescribeInput
    ) -> Future[DescribeRecord]:
        if isinstance(item, (SkippedImage, ImageInputError)):
            return _completed(_skipped(item))
        image = _image_of(item)
        record = self._from_cache(run, image)
        if record is None:
            return pool.submit(self._describe_one, run, image)
        return _completed(record)

    async def adescribe(
        self,
        images: Iterable[DescribeInput] | AsyncIterable[DescribeInput],
        *,
        total: int | None = None,
    ) -> AsyncGenerator[DescribeRecord, None]:
        """Describe ``images`` on the event loop; one record per input, in input order.

        Args:
            images: Prepared images or errors, sync or async iterable, consumed lazily.
            total: How many inputs to expect, for the progress bar and ``on_progress``.

        Yields:
            One :class:`DescribeRecord` per input.

        Raises:
            openai.APIStatusError: An error no image can avoid (bad key, no credit, wrong model).
        """
        run = self._run = _Run(self, total)
        slots = asyncio.Semaphore(self.max_concurrency)
        pending: deque[tuple[DescribeInput, asyncio.Future[DescribeRecord]]] = deque()
        window = self._window()
        loop = asyncio.get_running_loop()
        try:
            async for item in _aiter(images):
                image: PreparedImage | None = None
                if isinstance(item, (SkippedImage, ImageInputError)):
                    record: DescribeRecord | None = _skipped(item)
                else:
                    image = _image_of(item)
                    record = self._from_cache(run, image)
                if record is not None:
                    done = loop.create_future()
                    done.set_result(record)
                    pending.append((item, done))
                elif image is not None:
                    future = asyncio.ensure_future(self._adescribe_one(run, image, slots))
                    pending.append((item, future))
                while pending and (len(pending) >= window or pending[0][1].done()):
                    run.check_fatal()
                    given, answer = pending.popleft()
                    yield run.emit(await answer, given)
            while pending:
                run.check_fatal()
                given, answer = pending.popleft()
                yield run.emit(await answer, given)
        finally:
            unanswered = [waiting for _, waiting in pending]
            for waiting in unanswered:
                waiting.cancel()
            if unanswered:
                await asyncio.gather(*unanswered, return_exceptions=True)
            run.close()


class _RunClosed(Exception):  # noqa: N818 - internal signal, never reaches a caller
    """Stops the workers of a run whose consumer went away (closed or broke out early)."""


def _image_of(item: PreparedImage | LoadedImage) -> PreparedImage:
    return item.image if isinstance(item, LoadedImage) else item


def _completed(record: DescribeRecord) -> Future[DescribeRecord]:
    done: Future[DescribeRecord] = Future()
    done.set_result(record)
    return done


async def _aiter(
    items: Iterable[DescribeInput] | AsyncIterable[DescribeInput],
) -> AsyncIterator[DescribeInput]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
