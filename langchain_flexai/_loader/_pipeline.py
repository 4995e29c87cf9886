"""The loader's pipeline: walk, then prepare files on worker threads, in order, lazily.

Knows how to turn paths into a stream of prepared images (or the errors standing for files that
could not be read or prepared), keeping the walk's order, holding only a bounded window of
results in memory, and using every core for the files that need pixels decoded. Knows nothing
about Documents, messages or models.

Why adaptive: a compliant file costs ~0.1 ms (read, header probe, base64), mostly Python code
holding the GIL; two threads fighting over it made a folder of such files 1.6x *slower* than one
thread. A file that needs decoding costs milliseconds in Pillow code that releases the GIL, and
there threads pay off on every core. So files are prepared on the calling thread while they are
cheap, and go to the pool (a few per task) once the recent files turn out to be expensive; the
running average of the time per file decides, chunk by chunk, and results keep the input order.

A PDF is not prepared on a worker: the worker only recognises it (``_loader._pdf.PdfFile``), and
its pages are rendered one at a time where results leave in order (PDFium is not thread-safe).
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections import deque
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

from langchain_flexai._loader._pdf import (
    PageSelection,
    PdfFile,
    is_pdf_name,
    iter_pages,
    starts_like_pdf,
)
from langchain_flexai._loader._walk import WalkFilter, iter_files, not_regular_file
from langchain_flexai.describe._records import LoadedImage, SkippedImage
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images._doors import prepare_image_file
from langchain_flexai.images._policy import MAX_FILE_BYTES, ImagePolicy

CHUNK_SIZE = 16
"""Most files prepared per step on the calling thread (cheap files)."""
_POOL_CHUNK = 2
"""Files per task handed to a worker thread (expensive files: the hand-off cost is negligible)."""
_SLOW_FILE_S = 0.002
"""Average seconds per file above which the pool is used: such files were decoded."""
_ASYNC_BATCH = 32
"""Prepared items fetched per hop from the event loop to the pipeline's thread."""


Prepared = LoadedImage | SkippedImage
"""A file's (or a PDF page's) outcome: its prepared image (``LoadedImage``, a describe input as
it is) or why not."""
WalkItem = str | SkippedImage | LoadedImage | PdfFile
"""A path to prepare, or an outcome already known (a skip; a URL fetched, see ``_remote``)."""
_Step = Prepared | PdfFile
"""What a worker hands back for a file: a PDF is expanded into pages afterwards."""


def unreadable(path: str, error: OSError) -> SkippedImage:
    """The skip for a path, a directory or a file that cannot be read."""
    detail = error.strerror or str(error) or type(error).__name__
    result = ImageInputError(
        f"cannot read it: {detail}", reason=ImageErrorReason.UNREADABLE, source=path
    )
    result.__cause__ = error
    return SkippedImage(path, result)


def walk(paths: Iterable[str | os.PathLike[str]], walk_filter: WalkFilter) -> Iterator[WalkItem]:
    """The walk's paths, with unreadable entries and directories inside as errors in their place.

    Raises:
        OSError: A path in ``paths`` does not exist or cannot be listed (see ``iter_files``).
    """
    errors: list[SkippedImage] = []
    for path in iter_files(paths, walk_filter, lambda p, e: errors.append(unreadable(p, e))):
        if errors:
            yield from errors
            errors.clear()
        yield path
    yield from errors


def prepare_file(path: str, policy: ImagePolicy, max_file_bytes: int = MAX_FILE_BYTES) -> _Step:
    """Read and prepare one file; errors are returned, not raised, to keep the stream going.

    A PDF (by its suffix, or by its header when the file was named without one) is returned as
    a ``PdfFile``, not read here. Only regular files of at most ``max_file_bytes`` are read: a
    FIFO, a device or an oversized file is reported (``UNREADABLE`` / ``TOO_LARGE``) without
    blocking or filling memory.
    """
    try:
        info = os.stat(path)  # noqa: PTH116 - str paths throughout
    except OSError as error:
        return unreadable(path, error)
    if not stat.S_ISREG(info.st_mode):
        # Refused before opening; read_image_file checks again on the opened descriptor.
        return unreadable(path, not_regular_file(info.st_mode, path))
    if is_pdf_name(path):
        return PdfFile(path, info.st_size)
    try:
        image = prepare_image_file(path, policy, max_file_bytes=max_file_bytes)
        # Hash here, on the worker thread: metadata and the resume key need it, and the hash
        # costs more than the base64 encode of the fast path.
        _ = image.sha256
    except ImageInputError as error:
        if error.reason is ImageErrorReason.NOT_AN_IMAGE and starts_like_pdf(path):
            return PdfFile(path, info.st_size)  # a PDF named without its suffix
        return SkippedImage(path, error)
    return LoadedImage(image, info.st_size)


_Chunk = tuple[list[_Step], float]
"""Prepared items of one chunk, and the seconds per file it took."""


def _prepare_chunk(items: list[WalkItem], policy: ImagePolicy, max_file_bytes: int) -> _Chunk:
    start = time.perf_counter()
    results: list[_Step] = [
        item if not isinstance(item, str) else prepare_file(item, policy, max_file_bytes)
        for item in items
    ]
    return results, (time.perf_counter() - start) / len(items)


class _AdaptivePipeline:
    """Chunks prepared inline while files are cheap, on the pool while they are expensive."""

    def __init__(self, policy: ImagePolicy, workers: int, max_file_bytes: int) -> None:
        self.policy = policy
        self.max_file_bytes = max_file_bytes
        self.workers = workers
        self.window = workers * 4
        self.pool: ThreadPoolExecutor | None = None
        # (future, ran on the pool) in input order.
        self.pending: deque[tuple[Future[_Chunk], bool]] = deque()
        self.per_file = 0.0  # running average of seconds per file
        self.serial_chunk = _POOL_CHUNK  # doubles while files stay cheap: slow folders show fast

    def _learn(self, seconds_per_file: float) -> None:
        self.per_file = (self.per_file + seconds_per_file) / 2

    def add(self, items: Iterator[WalkItem]) -> bool:
        """Start the next chunk of ``items``; False when there are none left."""
        parallel = self.per_file > _SLOW_FILE_S
        chunk = list(islice(items, _POOL_CHUNK if parallel else self.serial_chunk))
        if not chunk:
            return False
        if parallel:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="flexai-load")
            self.pending.append(
                (self.pool.submit(_prepare_chunk, chunk, self.policy, self.max_file_bytes), True)
            )
            return True
        done = _prepare_chunk(chunk, self.policy, self.max_file_bytes)
        self._learn(done[1])
        self.serial_chunk = min(self.serial_chunk * 2, CHUNK_SIZE)
        future: Future[_Chunk] = Future()
        future.set_result(done)
        self.pending.append((future, False))
        return True

    def take(self, *, everything: bool = False) -> Iterator[_Step]:
        """Yield finished chunks in order (waiting when the window is full, or for all)."""
        while self.pending and (
            everything or self.pending[0][0].done() or len(self.pending) >= self.window
        ):
            future, on_pool = self.pending.popleft()
            results, seconds = future.result()
            if on_pool:
                self._learn(seconds)
            yield from results

    def close(self) -> None:
        """Cancel chunks not started; wait for those running."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def iter_prepared(
    items: Iterator[WalkItem],
    policy: ImagePolicy,
    workers: int,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    pages: PageSelection = None,
) -> Generator[Prepared, None, None]:
    """Prepare ``items``, in input order, with up to ``workers`` threads for expensive files.

    At most a bounded window of chunks is prepared ahead of the consumer. Closing the iterator
    early cancels the chunks not yet started. A PDF yields one item per page (``pages`` chooses
    which), rendered here, one at a time.
    """
    if workers <= 1:
        for item in items:
            step = item if not isinstance(item, str) else prepare_file(item, policy, max_file_bytes)
            yield from expand(step, policy, max_file_bytes, pages)
        return
    pipeline = _AdaptivePipeline(policy, workers, max_file_bytes)
    try:
        while pipeline.add(items):
            for step in pipeline.take():
                yield from expand(step, policy, max_file_bytes, pages)
        for step in pipeline.take(everything=True):
            yield from expand(step, policy, max_file_bytes, pages)
    finally:
        pipeline.close()


def expand(
    step: _Step, policy: ImagePolicy, max_file_bytes: int, pages: PageSelection = None
) -> Iterator[Prepared]:
    """A step's outcomes: a PDF's chosen pages, rendered one at a time; anything else as is."""
    if isinstance(step, PdfFile):
        yield from iter_pages(step, policy, max_file_bytes, pages)
    else:
        yield step


def _next_batch(iterator: Iterator[Prepared]) -> list[Prepared]:
    return list(islice(iterator, _ASYNC_BATCH))


async def aiter_prepared(
    items: Iterator[WalkItem],
    policy: ImagePolicy,
    workers: int,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    pages: PageSelection = None,
) -> AsyncGenerator[Prepared, None]:
    """:func:`iter_prepared` for asyncio: the walk and the reads never block the event loop.

    The sync pipeline is advanced from a worker thread a batch at a time (never from two threads
    at once: each hop is awaited before the next).
    """
    pipeline = iter_prepared(items, policy, workers, max_file_bytes=max_file_bytes, pages=pages)
    try:
        while batch := await asyncio.to_thread(_next_batch, pipeline):
            for item in batch:
                yield item
    finally:
        await asyncio.to_thread(pipeline.close)
