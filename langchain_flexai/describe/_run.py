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
key is ``_key``'s, the cache file ``_cache``'s, a run's counters and stop signal ``_state``'s.
Every record carries the input it answers (``record.input``), so a caller joins what it fed in
without a table of its own.

Entry points: :class:`ImageDescriber` with :meth:`~ImageDescriber.describe` (threads) and
:meth:`~ImageDescriber.adescribe` (asyncio). A CLI writes the records with
:func:`~langchain_flexai.describe.open_writer` and reads :attr:`ImageDescriber.report` at the
end; ``on_progress`` receives counts as they change.
"""

from __future__ import annotations

import asyncio
import logging
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
from functools import partial
from os import PathLike
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable

from langchain_flexai._loader._documents import vision_message
from langchain_flexai.chat_models import ChatFlexAI
from langchain_flexai.describe._key import (
    EMULATOR_ENDPOINT,
    RequestIdentity,
    model_identity,
    prompt_key,
    resume_key,
)
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
    input_page,
    no_text_message,
    skipped_record,
    usage_cost,
)
from langchain_flexai.describe._retry import (
    format_seconds,
    is_fatal,
    is_rate_limited,
    retry_delay,
    without_sdk_retries,
)
from langchain_flexai.describe._sidecars import SidecarKind, SidecarName, SidecarWriter
from langchain_flexai.describe._state import RunClosed, RunState, check_before_waiting
from langchain_flexai.describe._structured import StructuredAnswers
from langchain_flexai.errors import ImageInputError
from langchain_flexai.images._cache import not_stored
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
        schema: object = None,
        sidecar: SidecarKind | None = None,
        sidecar_name: SidecarName | None = None,
        overwrite: bool = False,
        price_per_mtok: tuple[float | None, float | None] | None = None,
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
            schema: Answer each image as an object: a JSON Schema dict, a pydantic model or a
                TypedDict (``describe._structured``); records hold it in ``data``.
            sidecar: ``"txt"``, ``"json"`` or ``"xmp"``: a file beside each local image
                (``describe._sidecars``).
            sidecar_name: The sidecar name rule, ``"stem"`` or ``"full"`` (default: per kind).
            overwrite: Replace existing sidecars (else they are kept).
            price_per_mtok: The model's (input, output) prices in USD per million tokens
                (``ModelInfo.input_per_mtok`` / ``output_per_mtok`` from the catalog): records
                then carry ``cost_usd``. None: no cost in the records.

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
        self._wire_parts = isinstance(model, ChatFlexAI)
        self._sender: Runnable[Any, Any] = without_sdk_retries(model)
        self.prompt = prompt
        self.max_concurrency = max_concurrency
        if rate_limiter is None and requests_per_minute is not None:
            rate_limiter = RequestRateLimiter.per_minute(requests_per_minute)
        self.rate_limiter = rate_limiter
        # Without an explicit limit, the server's x-ratelimit-* headers pace the run.
        self._gate: StartGate = rate_limiter if rate_limiter is not None else HeaderPacer()
        if isinstance(self._gate, HeaderPacer):
            self._sender = with_response_headers(without_sdk_retries(model))
        self.cache_path = cache_path
        self.detail = detail
        self.max_retries = max_retries
        self.on_progress = on_progress
        self.show_progress = show_progress
        self.model_id = model_identity(model)
        self.price_per_mtok = price_per_mtok
        self._prompt_sha256 = prompt_key(prompt)
        self.request_identity = RequestIdentity.of(
            model, self.model_id, prompt, detail=detail, endpoint=endpoint
        )
        """What the resume cache keys answers by, besides the image (see ``cache_path``)."""
        self.structured = None if schema is None else StructuredAnswers.of(schema, model)
        if self.structured is not None:
            self._sender = self.structured.runnable(self._sender)
            self.request_identity = self.structured.identity(self.request_identity)
        self.sidecars = SidecarWriter(sidecar, sidecar_name, overwrite) if sidecar else None
        self._run: RunState | None = None

    @property
    def report(self) -> DescribeReport:
        """The report of the current run (live) or of the last one; empty before any run."""
        return self._run.report() if self._run is not None else DescribeReport()

    def messages_for(self, image: PreparedImage) -> list[BaseMessage]:
        """The request for one image: the prompt text, then the image.

        The image is a LangChain image block; for a ``ChatFlexAI`` it is FlexAI's own
        ``image_url`` part, which goes on the wire as it is (the same request: the same data
        URL and ``detail``). That shape also spares every request langchain-core's inspection
        of image blocks before tracing (about half a millisecond per request), which traces
        them in this very shape.
        """
        block = (
            image.to_openai_part(self.detail)
            if self._wire_parts
            else image.to_content_block(self.detail)
        )
        return [vision_message(self.prompt, block)]

    # -- per image ---------------------------------------------------------------------

    def _record(
        self, image: PreparedImage, usage: TokenUsage | None = None, **fields: Any
    ) -> DescribeRecord:
        """A record for ``image``: what was sent, to which model, at what cost, and ``fields``."""
        return DescribeRecord(
            source=image.source,
            sha256=image.sha256,
            usage=usage,
            model=self.model_id,
            prompt_sha256=self._prompt_sha256,
            cost_usd=usage_cost(usage, self.price_per_mtok),
            width=image.width,
            height=image.height,
            mime_type=image.mime_type,
            transformations=image.transformations,
            image=image,
            **fields,
        )

    def _from_cache(
        self, run: RunState, image: PreparedImage, page: int | None
    ) -> DescribeRecord | None:
        key = resume_key(image, page)
        if run.cache is None or key is None:
            return None
        hit = run.cache.get(key, self.request_identity)
        data = self.structured.cached(hit.description) if self.structured and hit else None
        if hit is None or (self.structured is not None and data is None):
            return None
        return self._record(
            image,
            TokenUsage.from_dict(hit.usage),
            data=data,
            description=hit.description,
            cached=True,
            response_id=hit.response_id,
            finish_reason=hit.finish_reason,
        )

    def _answered(
        self, run: RunState, image: PreparedImage, message: Any, page: int | None
    ) -> DescribeRecord:
        if self.structured is not None:
            record = self.structured.record(message, partial(self._record, image))
            key = resume_key(image, page)
            return self.structured.remember(record, run.cache, key, self.request_identity)
        text = answer_text(message)
        usage = TokenUsage.from_message(message)
        metadata = message.response_metadata
        response_id = metadata.get("id") if isinstance(metadata.get("id"), str) else None
        finish = metadata.get("finish_reason")
        finish_reason = finish if isinstance(finish, str) else None
        answer = {"response_id": response_id, "finish_reason": finish_reason}
        if not text:
            return self._record(
                image, usage, error=self._no_text(message), reason="empty_answer", **answer
            )
        key = resume_key(image, page)
        if run.cache is not None and key is not None:
            run.cache.put(
                key,
                self.request_identity,
                text,
                usage.as_dict() if usage else None,
                response_id=response_id,
                finish_reason=finish_reason,
            )
        return self._record(image, usage, description=text, **answer)

    def _no_text(self, message: BaseMessage) -> str:
        if message.response_metadata.get("finish_reason") != "length":
            return f"{no_text_message(message)}; reasoning models may need a larger max_tokens"
        # A reasoning model spent the whole budget thinking: a blank caption would look like
        # an answer, and asking again with the same budget would cut it again.
        budget = getattr(self.model, "max_tokens", None)
        spent = f"its whole max_tokens={budget}" if budget is not None else "its token budget"
        return (
            f"the model used {spent} before answering (finish_reason='length'); reasoning "
            "models spend it on thinking: raise max_tokens (--max-tokens on the command line)"
        )

    def _after_error(
        self, run: RunState, image: PreparedImage, error: Exception, attempt: int
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
            return self._record(
                image,
                error=f"{type(error).__name__}: {error}",
                reason="request_failed",
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

    def _describe_one(
        self, run: RunState, image: PreparedImage, page: int | None
    ) -> DescribeRecord:
        messages = self.messages_for(image)
        attempt = 0
        while True:
            while (wait := run.turn_wait(self._gate)) > 0:
                run.stopped.wait(wait)  # wakes at once when the run stops
            run.count_request()
            try:
                # Each image of a run is one request: its prepared form is not worth keeping.
                with not_stored():
                    answer = self._sender.invoke(messages)
            except Exception as error:  # noqa: BLE001 - every failure becomes a record
                self._gate.observe(error)
                outcome = self._after_error(run, image, error, attempt)
                if isinstance(outcome, DescribeRecord):
                    return outcome
                run.stopped.wait(outcome)
                attempt += 1
                continue
            self._gate.observe(_raw_answer(answer))
            return self._answered(run, image, answer, page)

    async def _adescribe_one(
        self, run: RunState, image: PreparedImage, page: int | None, slots: asyncio.Semaphore
    ) -> DescribeRecord:
        messages = self.messages_for(image)
        attempt = 0
        async with slots:
            while True:
                while (wait := run.turn_wait(self._gate)) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(wait)
                run.count_request()
                try:
                    with not_stored():
                        answer = await self._sender.ainvoke(messages)
                except Exception as error:  # noqa: BLE001 - every failure becomes a record
                    self._gate.observe(error)
                    outcome = self._after_error(run, image, error, attempt)
                    if isinstance(outcome, DescribeRecord):
                        return outcome
                    await asyncio.sleep(outcome)
                    attempt += 1
                    continue
                self._gate.observe(_raw_answer(answer))
                return self._answered(run, image, answer, page)

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
        run = self._run = RunState(
            cache_path=self.cache_path,
            show_progress=self.show_progress,
            on_progress=self.on_progress,
            total=total,
            finish=self.sidecars.apply if self.sidecars is not None else None,
        )
        pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="flexai-describe")
        # Each input waits in order beside its answer: the record carries it out.
        pending: deque[tuple[DescribeInput, Future[DescribeRecord]]] = deque()
        window = self._window()
        try:
            for item in images:
                pending.append((item, self._schedule(run, pool, item)))
                while pending and (len(pending) >= window or pending[0][1].done()):
                    check_before_waiting(run, pending[0][1])
                    done, future = pending.popleft()
                    yield run.emit(future.result(), done)
            while pending:
                check_before_waiting(run, pending[0][1])
                done, future = pending.popleft()
                yield run.emit(future.result(), done)
        finally:
            run.stopped.set()  # threads still waiting their turn give up at once
            if run.fatal is None:
                run.fatal = RunClosed("the describe run was closed")
            pool.shutdown(wait=True, cancel_futures=True)
            run.close()

    def _schedule(
        self, run: RunState, pool: ThreadPoolExecutor, item: DescribeInput
    ) -> Future[DescribeRecord]:
        if isinstance(item, (SkippedImage, ImageInputError)):
            return _completed(skipped_record(item))
        image = _image_of(item)
        record = self._from_cache(run, image, input_page(item))
        if record is None:
            return pool.submit(self._describe_one, run, image, input_page(item))
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
        run = self._run = RunState(
            cache_path=self.cache_path,
            show_progress=self.show_progress,
            on_progress=self.on_progress,
            total=total,
            finish=self.sidecars.apply if self.sidecars is not None else None,
        )
        slots = asyncio.Semaphore(self.max_concurrency)
        pending: deque[tuple[DescribeInput, asyncio.Future[DescribeRecord]]] = deque()
        window = self._window()
        loop = asyncio.get_running_loop()
        try:
            async for item in _aiter(images):
                image: PreparedImage | None = None
                if isinstance(item, (SkippedImage, ImageInputError)):
                    record: DescribeRecord | None = skipped_record(item)
                else:
                    image = _image_of(item)
                    record = self._from_cache(run, image, input_page(item))
                if record is not None:
                    done = loop.create_future()
                    done.set_result(record)
                    pending.append((item, done))
                elif image is not None:
                    future = asyncio.ensure_future(
                        self._adescribe_one(run, image, input_page(item), slots)
                    )
                    pending.append((item, future))
                while pending and (len(pending) >= window or pending[0][1].done()):
                    check_before_waiting(run, pending[0][1])
                    given, answer = pending.popleft()
                    yield run.emit(await answer, given)
            while pending:
                check_before_waiting(run, pending[0][1])
                given, answer = pending.popleft()
                yield run.emit(await answer, given)
        finally:
            unanswered = [waiting for _, waiting in pending]
            for waiting in unanswered:
                waiting.cancel()
            if unanswered:
                await asyncio.gather(*unanswered, return_exceptions=True)
            run.close()


def _raw_answer(answer: Any) -> Any:
    # A structured answer (include_raw=True) is {"raw": message, "parsed": ...}: the headers
    # that pace the run are on the raw message.
    return answer.get("raw") if isinstance(answer, dict) else answer


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
