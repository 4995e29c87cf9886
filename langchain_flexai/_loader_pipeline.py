"""The loader's pipeline: walk, then prepare files on worker threads, in order, lazily.

Knows how to turn paths into a stream of prepared images (or the errors standing for files that
could not be read or prepared), keeping the walk's order, holding only a bounded window of
results in memory, and using every core for the files that need pixels decoded. Knows nothing
about Documents, messages or models.

Why chunks: a compliant file costs ~0.1 ms (read, header probe, base64); handing each one to a
thread would cost a third of that again. Files go to the pool in chunks, so the hand-off is paid
once per chunk, while a chunk of large photos (tens of ms each) still keeps both cores busy.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from langchain_flexai._file_walk import WalkFilter, iter_files
from langchain_flexai.describe import SkippedImage
from langchain_flexai.errors import ImageErrorReason, ImageInputError
from langchain_flexai.images import ImagePolicy, PreparedImage, prepare_image

CHUNK_SIZE = 16
"""Files per task handed to a worker thread."""
_ASYNC_BATCH = 32
"""Prepared items fetched per hop from the event loop to the pipeline's thread."""


@dataclass(frozen=True)
class LoadedImage:
    """A file's prepared image and its size on disk."""

    image: PreparedImage
    file_size: int


Prepared = LoadedImage | SkippedImage
WalkItem = str | SkippedImage


def unreadable(path: str, error: OSError) -> SkippedImage:
    """The skip for a path, a directory or a file that cannot be read."""
    detail = error.strerror or str(error) or type(error).__name__
    result = ImageInputError(
        f"cannot read it: {detail}", reason=ImageErrorReason.UNREADABLE, source=path
    )
    result.__cause__ = error
    return SkippedImage(path, result)


def walk(paths: Iterable[str | os.PathLike[str]], walk_filter: WalkFilter) -> Iterator[WalkItem]:
    """The walk's paths, with unreadable paths and directories as errors in their place."""
    errors: list[SkippedImage] = []
    for path in iter_files(paths, walk_filter, lambda p, e: errors.append(unreadable(p, e))):
        if errors:
            yield from errors
            errors.clear()
        yield path
    yield from errors


def prepare_file(path: str, policy: ImagePolicy) -> Prepared:
    """Read and prepare one file; errors are returned, not raised, to keep the stream going."""
    try:
        size = os.stat(path).st_size  # noqa: PTH116 - str paths throughout
    except OSError as error:
        return unreadable(path, error)
    try:
        image = prepare_image(Path(path), policy)
        # Hash here, on the worker thread: metadata and the resume key need it, and the hash
        # costs more than the base64 encode of the fast path.
        _ = image.sha256
    except ImageInputError as error:
        return SkippedImage(path, error)
    return LoadedImage(image, size)


def _prepare_chunk(items: list[WalkItem], policy: ImagePolicy) -> list[Prepared]:
    return [
        item if isinstance(item, SkippedImage) else prepare_file(item, policy) for item in items
    ]


def iter_prepared(
    items: Iterator[WalkItem], policy: ImagePolicy, workers: int
) -> Generator[Prepared, None, None]:
    """Prepare ``items`` on ``workers`` threads; results in input order, a bounded window ahead.

    Closing the iterator early cancels the chunks not yet started.
    """
    if workers <= 1:
        for item in items:
            yield item if isinstance(item, SkippedImage) else prepare_file(item, policy)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="flexai-load")
    pending: deque[Future[list[Prepared]]] = deque()
    window = workers * 2
    try:
        while chunk := list(islice(items, CHUNK_SIZE)):
            pending.append(pool.submit(_prepare_chunk, chunk, policy))
            if len(pending) >= window:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _next_batch(iterator: Iterator[Prepared]) -> list[Prepared]:
    return list(islice(iterator, _ASYNC_BATCH))


async def aiter_prepared(
    items: Iterator[WalkItem], policy: ImagePolicy, workers: int
) -> AsyncGenerator[Prepared, None]:
    """:func:`iter_prepared` for asyncio: the walk and the reads never block the event loop.

    The sync pipeline is advanced from a worker thread a batch at a time (never from two threads
    at once: each hop is awaited before the next).
    """
    pipeline = iter_prepared(items, policy, workers)
    try:
        while batch := await asyncio.to_thread(_next_batch, pipeline):
            for item in batch:
                yield item
    finally:
        await asyncio.to_thread(pipeline.close)
